package dev.parley.budgets.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley budgets",
        description = "Budgets per API key, user and tenant: requests, tokens and cost per day or month, reserved in "
                + "the database before each chat request and settled when it ends.")
public @interface BudgetsConfig {
    /** The configuration PID of the budgets. */
    String PID = "dev.parley.budgets";

    @AttributeDefinition(name = "Cache seconds", description = "How long this node keeps a tenant's budget "
            + "definitions before reading them again. A change through the admin API applies on the node that made "
            + "it at once, on other nodes within this time. 0: read them for every request.")
    int cacheSeconds() default 5;

    @AttributeDefinition(name = "Cache size", description = "Most tenants whose definitions one node keeps; past "
            + "it the cache starts over.")
    int cacheMaxTenants() default 10_000;
}
