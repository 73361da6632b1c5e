package dev.parley.registry.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Settings of the plugin registry (PID {@value #PID}). */
@ObjectClassDefinition(name = "Parley plugin registry",
        description = "Where plugin versions are stored, how large they may be, and which publishers are trusted.")
public @interface RegistryConfig {
    String PID = "dev.parley.registry";

    @AttributeDefinition(description = "Storage kind: 'local' (a directory, the embedded default) or 's3' "
            + "(PostgreSQL metadata + S3 artifacts). The registry binds the RegistryStorage service whose "
            + "parley.registry.storage property equals this value.")
    String storage() default "local";

    @AttributeDefinition(description = "The storage service filter DS binds. Computed from 'storage' when absent; "
            + "set it only to select a storage by other properties.")
    String storage_target() default "(parley.registry.storage=local)";

    @AttributeDefinition(description = "Largest plugin jar accepted, in bytes; larger uploads are refused (413).")
    long maxArtifactBytes() default 64L * 1024 * 1024;

    @AttributeDefinition(description = "Publishers added at start, as id=base64PublicKey (X.509 SubjectPublicKeyInfo "
            + "of an Ed25519 key). A publisher already known with another key makes the registry refuse to start.")
    String[] trustedPublishers() default {};
}
