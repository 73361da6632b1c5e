package dev.parley.identity.apikeys.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley API keys",
        description = "API keys for programs: how long they may live, and how their checks are cached.")
public @interface ApiKeysConfig {
    /** The PID. */
    String PID = "dev.parley.identity.apikeys";

    @AttributeDefinition(name = "Cache (seconds)", required = false, min = "0", max = "300",
            description = "How long this node uses a key it has read from the database before reading it again. A "
                    + "key revoked on this node stops working at once; on other nodes within this time. 0: every "
                    + "request reads the database.")
    int cacheSeconds() default 30;

    @AttributeDefinition(name = "Longest life (days)", required = false, min = "0", max = "36500",
            description = "The most days a new key may live; a key created without 'expires_in_days' gets this "
                    + "many. 0: no limit, and keys created without 'expires_in_days' never expire.")
    int maxExpiryDays() default 365;

    @AttributeDefinition(name = "Last-used write interval (seconds)", required = false, min = "1", max = "3600",
            description = "Each node writes the time a key was last used at most once per this interval (in one "
                    + "batch for all keys), never once per request.")
    int lastUsedWriteSeconds() default 60;

    @AttributeDefinition(name = "Cached keys", required = false, min = "100",
            description = "At most this many keys are held in this node's cache.")
    int cacheMaxEntries() default 10000;
}
