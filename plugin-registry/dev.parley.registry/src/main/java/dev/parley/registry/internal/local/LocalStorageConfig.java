package dev.parley.registry.internal.local;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Settings of the local-directory registry storage (PID {@value #PID}). */
@ObjectClassDefinition(name = "Parley plugin registry: local directory storage",
        description = "Keeps plugin artifacts and their metadata as files in one directory.")
public @interface LocalStorageConfig {
    String PID = "dev.parley.registry.local";

    @AttributeDefinition(description = "Directory of the registry; empty means <parley.data.dir>/registry "
            + "(framework property parley.data.dir, default ./data).")
    String directory() default "";
}
