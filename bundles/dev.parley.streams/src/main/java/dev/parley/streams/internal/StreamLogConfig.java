package dev.parley.streams.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

@ObjectClassDefinition(name = "Parley stream log",
        description = "Where streamed answers are logged while they stream and a while after, so that a client that "
                + "lost its connection resumes from the last event it saw: in this process by default (a client "
                + "resumes on the same node), or in Redis Streams so that any node serves the rest and ends a stream "
                + "whose node is gone.")
public @interface StreamLogConfig {
    /** The configuration PID of the stream log. */
    String PID = "dev.parley.streams";

    @AttributeDefinition(name = "Store", description = "local: in this process (resume on the same node). redis: "
            + "Redis Streams, shared by every node using the same Redis and key prefix.",
            options = { @Option(label = "In this process", value = "local"), @Option(label = "Redis", value = "redis") })
    String store() default "local";

    @AttributeDefinition(name = "Redis URI", description = "redis://[user[:password]@]host[:port][/database], or "
            + "rediss:// for TLS. Put the password in \"Redis password\" rather than here.")
    String redisUri() default "redis://127.0.0.1:6379";

    @AttributeDefinition(name = "Redis password", required = false, type = AttributeType.PASSWORD,
            description = "Password for Redis AUTH (configuration key \".redisPassword\"); overrides one in the URI.")
    String _redisPassword() default "";

    @AttributeDefinition(name = "Key prefix", description = "Prepended to every stream's and node's key in Redis.")
    String keyPrefix() default "parley:stream:";

    @AttributeDefinition(name = "Kept after the end", description = "Seconds a finished stream stays in the log for "
            + "clients that reconnect late.", min = "1")
    int retainSeconds() default 300;

    @AttributeDefinition(name = "Longest stream", description = "Seconds after which a stream that never ended is "
            + "dropped from the log (longer than the longest answer: the request timeout).", min = "1")
    int maxStreamSeconds() default 3600;

    @AttributeDefinition(name = "Heartbeat", description = "Milliseconds between this node's heartbeats in Redis, "
            + "which tell readers the streams it writes still go on.", min = "100")
    int heartbeatMillis() default 1000;

    @AttributeDefinition(name = "Producer timeout", description = "Milliseconds without a heartbeat after which a "
            + "node is taken for gone, and the streams it wrote are ended as interrupted by whoever reads them.",
            min = "300")
    int producerTimeoutMillis() default 3000;

    @AttributeDefinition(name = "Idle bound", description = "Seconds a stream may go without a new entry, its node "
            + "alive, before a reader ends it as interrupted (its writer lost the log).", min = "1")
    int maxIdleSeconds() default 600;

    @AttributeDefinition(name = "Most readers", description = "Resumed streams this node follows at once (each holds "
            + "a Redis connection); more are refused.", min = "1")
    int maxFollowers() default 1024;

    @AttributeDefinition(name = "Timeout", description = "Milliseconds one Redis call (other than a reader's wait) "
            + "may take.", min = "1")
    int timeoutMillis() default 2000;
}
