package dev.parley.pluginhost;

import java.util.List;

/**
 * One plugin host as its supervisor sees it.
 *
 * @param bundleId  the stand-in bundle in the server's framework
 * @param pluginId  the plugin's id ({@code Parley-Plugin})
 * @param state     {@code starting}, {@code running}, {@code restarting} or {@code stopped}
 * @param pid       the host process, or -1 while none runs
 * @param port      the loopback port the server listens on for this host
 * @param starts    how many host processes were started for it
 * @param lastExit  why the last process ended, null before one did
 * @param providers the provider ids the host announced
 * @param cgroups   which limits the current (or last) process runs under and by what: {@code cgroups=v1 cpu,pids,memory
 *                  …}, {@code cgroups=v2 …} or {@code cgroups=not-applied reason=…} (then only the JVM's limits hold);
 *                  null before a process was started
 * @param cgroup    the process's cgroup, relative to the hierarchy's root (e.g. {@code /parley-pluginhost/echo-1}; with
 *                  v1, in the {@code pids} hierarchy: the server's own cgroup may differ per hierarchy), or null when
 *                  it has none
 * @since 1.1
 */
public record HostStatus(long bundleId, String pluginId, String state, long pid, int port, int starts,
        String lastExit, List<String> providers, String cgroups, String cgroup) {

    /** A status without the cgroup fields (1.0). */
    public HostStatus(long bundleId, String pluginId, String state, long pid, int port, int starts, String lastExit,
            List<String> providers) {
        this(bundleId, pluginId, state, pid, port, starts, lastExit, providers, null, null);
    }
}
