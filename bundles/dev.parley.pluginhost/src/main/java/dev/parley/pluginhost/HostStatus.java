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
 */
public record HostStatus(long bundleId, String pluginId, String state, long pid, int port, int starts,
        String lastExit, List<String> providers) {
}
