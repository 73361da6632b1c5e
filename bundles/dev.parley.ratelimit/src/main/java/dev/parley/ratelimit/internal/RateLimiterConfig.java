package dev.parley.ratelimit.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

@ObjectClassDefinition(name = "Parley rate limiter",
        description = "Where rate-limit buckets are kept: in this process by default (each node limits on its own), "
                + "or in Redis so that all nodes share one limit.")
public @interface RateLimiterConfig {
    /** The configuration PID of the rate limiter. */
    String PID = "dev.parley.ratelimit";

    @AttributeDefinition(name = "Store", description = "local: buckets in this process (a limit per node). redis: "
            + "buckets in Redis, one limit for every node using the same Redis and key prefix.",
            options = { @Option(label = "In this process", value = "local"), @Option(label = "Redis", value = "redis") })
    String store() default "local";

    @AttributeDefinition(name = "Redis URI", description = "redis://[user[:password]@]host[:port][/database], or "
            + "rediss:// for TLS. Configuration properties are visible to other bundles as service properties: put "
            + "the password in \"Redis password\" rather than here.")
    String redisUri() default "redis://127.0.0.1:6379";

    // A key starting with a dot is private to the component (not a service property): method _redisPassword.
    @AttributeDefinition(name = "Redis password", required = false, type = AttributeType.PASSWORD,
            description = "Password for Redis AUTH (configuration key \".redisPassword\"); overrides one in the URI.")
    String _redisPassword() default "";

    @AttributeDefinition(name = "Key prefix", description = "Prepended to every bucket's name in Redis.")
    String keyPrefix() default "parley:rl:";

    @AttributeDefinition(name = "Fail mode", description = "What a decision is when Redis does not answer in time: "
            + "open allows the request (unlimited while Redis is away; health WARN), closed refuses it with "
            + "Retry-After 1 s (health CRITICAL, the node is not ready).",
            options = { @Option(label = "Open (allow)", value = "open"), @Option(label = "Closed (refuse)", value = "closed") })
    String failMode() default "open";

    @AttributeDefinition(name = "Timeout", description = "Milliseconds one Redis call may take before the fail mode "
            + "decides.", min = "1")
    int timeoutMillis() default 50;
}
