package dev.parley.pluginhost.internal;

import java.util.List;

/** {@link PluginHostConfig} read once. */
record HostSettings(long heartbeatMillis, long heartbeatTimeoutMillis, long startTimeoutMillis, long restartMinMillis,
        long restartMaxMillis, long stableMillis, int maxFrameBytes, List<String> javaOptions, boolean cgroups,
        String cgroupRoot, String cgroupParent) {

    static HostSettings of(PluginHostConfig c) {
        List<String> options = c.javaOptions().isBlank() ? List.of() : List.of(c.javaOptions().strip().split("\\s+"));
        return new HostSettings(Math.max(50, c.heartbeatMillis()), Math.max(100, c.heartbeatTimeoutMillis()),
                Math.max(1000, c.startTimeoutMillis()), Math.max(0, c.restartMinMillis()),
                Math.max(c.restartMinMillis(), c.restartMaxMillis()), Math.max(0, c.stableMillis()),
                Math.max(4096, c.maxFrameBytes()), options, c.cgroups(),
                c.cgroupRoot().isBlank() ? "/sys/fs/cgroup" : c.cgroupRoot().strip(),
                c.cgroupParent().isBlank() ? "parley-pluginhost" : c.cgroupParent().strip());
    }

    /** The delay before the {@code failures}-th restart in a row (1 for the first). */
    long restartDelay(int failures) {
        long d = restartMinMillis;
        for (int i = 1; i < failures && d < restartMaxMillis; i++) {
            d *= 2;
        }
        return Math.min(d, restartMaxMillis);
    }
}
