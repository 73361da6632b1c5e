package dev.parley.modelaccess.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley model access",
        description = "Which plugins and models each tenant may use: kept per node, read from the database again "
                + "after the cache time.")
public @interface ModelAccessConfig {
    /** The configuration PID. */
    String PID = "dev.parley.modelaccess";

    @AttributeDefinition(name = "Cache seconds", description = "How long this node keeps a tenant's models and the "
            + "plugins' availability before reading them again. A change through the admin API applies on the node "
            + "that made it at once (and wherever its change event is delivered), on other nodes within this time. "
            + "0: read them for every request.")
    int cacheSeconds() default 10;

    @AttributeDefinition(name = "Cache size", description = "Most tenants whose settings one node keeps; past it "
            + "the cache starts over.")
    int cacheMaxTenants() default 10_000;
}
