package dev.parley.pluginhost.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley plugin hosts",
        description = "How the server supervises the plugin-host JVMs of plugins run out of process (ADR 31).")
public @interface PluginHostConfig {
    String PID = "dev.parley.pluginhost";

    @AttributeDefinition(name = "Heartbeat (ms)", min = "50",
            description = "How often the server pings each host.")
    long heartbeatMillis() default 1000;

    @AttributeDefinition(name = "Heartbeat timeout (ms)", min = "100",
            description = "A host that has not answered a ping for this long is killed and restarted.")
    long heartbeatTimeoutMillis() default 5000;

    @AttributeDefinition(name = "Start timeout (ms)", min = "1000",
            description = "A host that has not connected back this long after it was started is killed and restarted.")
    long startTimeoutMillis() default 30000;

    @AttributeDefinition(name = "First restart delay (ms)", min = "0",
            description = "Delay before restarting a host that ended; doubled for each failure in a row.")
    long restartMinMillis() default 1000;

    @AttributeDefinition(name = "Longest restart delay (ms)", min = "0")
    long restartMaxMillis() default 60000;

    @AttributeDefinition(name = "Stable after (ms)", min = "0",
            description = "A host that ran this long counts as healthy: the next restart waits the first delay again.")
    long stableMillis() default 30000;

    @AttributeDefinition(name = "Largest frame (bytes)", min = "4096",
            description = "The largest RPC message either side reads; a larger one ends the connection.")
    int maxFrameBytes() default 1048576;

    @AttributeDefinition(name = "Extra JVM options",
            description = "Options added to each host's java command line, separated by spaces (never secrets).")
    String javaOptions() default "";

    @AttributeDefinition(name = "Use cgroups",
            description = "Put each host process into a cgroup of its own with a CPU quota, a task cap and a memory "
                    + "limit from its tier's limits, where the machine lets the server write cgroups (v1 or v2). "
                    + "Without (or when none is writable) only the JVM's limits apply; each host start logs which.")
    boolean cgroups() default true;

    @AttributeDefinition(name = "Cgroup file system",
            description = "Where the cgroup file systems are mounted.")
    String cgroupRoot() default "/sys/fs/cgroup";

    @AttributeDefinition(name = "Cgroup parent",
            description = "The cgroup the hosts' cgroups are made in: relative to the server's own cgroup in each "
                    + "hierarchy (so the limits of the server's cgroup hold for its hosts too), or, starting with /, "
                    + "to the hierarchy's root. With cgroup v2 the server's own cgroup holds processes and cannot "
                    + "pass controllers on, so a server not at the root needs an absolute parent it may write.")
    String cgroupParent() default "parley-pluginhost";
}
