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

    @AttributeDefinition(name = "Spend retention days", description = "Spend of periods that ended more than this "
            + "many days ago is deleted (the admin API shows the current period only; usage records keep the "
            + "history). At least 1.", min = "1")
    int spendRetentionDays() default 90;

    @AttributeDefinition(name = "Purge interval seconds", description = "How often each node deletes spend older "
            + "than the retention; nodes purging at once delete each row once. 0: never.", min = "0")
    int purgeIntervalSeconds() default 3600;

    @AttributeDefinition(name = "Purge batch size", description = "Most spend rows deleted in one transaction.",
            min = "1")
    int purgeBatchSize() default 1000;
}
