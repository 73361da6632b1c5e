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
 * @param plugin    the plugin in the current host as the host reported it: {@code waiting} (for the sandbox's
 *                  configurations to be in force there), {@code active}, {@code failed} (see {@code pluginError}) or
 *                  {@code stopped}; null before the host reported (since 1.2)
 * @param pluginError why the plugin did not start in its host (e.g. the framework's resolution error), or null
 * @param refusals  what the sandbox refused the plugin in its host, oldest first (a package its tier does not let it
 *                  import, a call a run-time check refused or reported), at most 32
 * @param refusedCalls calls of the plugin's code the run-time checks refused (or, in a tier that only reports, let
 *                  through) in its current host, by rule
 * @since 1.2
 */
public record HostStatus(long bundleId, String pluginId, String state, long pid, int port, int starts,
        String lastExit, List<String> providers, String cgroups, String cgroup, String plugin, String pluginError,
        List<String> refusals, java.util.Map<String, Long> refusedCalls) {

    /** A status without the plugin's report (1.1). */
    public HostStatus(long bundleId, String pluginId, String state, long pid, int port, int starts, String lastExit,
            List<String> providers, String cgroups, String cgroup) {
        this(bundleId, pluginId, state, pid, port, starts, lastExit, providers, cgroups, cgroup, null, null,
                List.of(), java.util.Map.of());
    }

    /** A status without the cgroup fields (1.0). */
    public HostStatus(long bundleId, String pluginId, String state, long pid, int port, int starts, String lastExit,
            List<String> providers) {
        this(bundleId, pluginId, state, pid, port, starts, lastExit, providers, null, null, null, null, List.of(),
                java.util.Map.of());
    }
}
