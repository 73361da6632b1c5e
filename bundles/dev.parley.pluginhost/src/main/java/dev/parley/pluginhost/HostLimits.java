package dev.parley.pluginhost;

/**
 * What a plugin host may use, from the tier's policy ({@code limits} in {@code sandbox-policy/*.json}). Where the
 * machine lets the server write cgroups (v1 or v2), the host runs in a cgroup of its own with a CPU quota, a task cap
 * and a memory limit; otherwise only the JVM's own limits apply (ADR 31).
 *
 * @param heapMb         the host JVM's heap ({@code -Xmx}); it ends on running out of memory and is restarted
 * @param cpuMillicores  processors the JVM sizes itself for ({@code -XX:ActiveProcessorCount}, rounded up) and, with
 *                       cgroups, its CPU quota ({@code cpu.cfs_quota_us} / {@code cpu.max})
 * @param maxThreads     calls into the plugin the host runs at once
 * @param maxHostThreads with cgroups, the most threads (tasks) the host process may have, the JVM's own included
 *                       ({@code pids.max}); 0 for {@link #defaultHostThreads(int) the default}
 */
public record HostLimits(int heapMb, int cpuMillicores, int maxThreads, int maxHostThreads) {
    public static final HostLimits UNTRUSTED_DEFAULTS = new HostLimits(256, 1000, 16);
    /**
     * Threads an idle host stays under: the JVM's (with the host's flags), the framework's, SCR's and the agent's, with
     * room for the JDK's own helpers. Measured: 22 to 24 after a first call (ADR 31); the default cap adds the calls
     * and a plugin's own allowance on top.
     */
    public static final int BASE_HOST_THREADS = 32;
    /** Memory a host may use beyond its heap (metaspace, code cache, thread stacks, direct buffers), for the cgroup. */
    public static final int NON_HEAP_MB = 256;

    public HostLimits {
        if (heapMb < 16 || cpuMillicores < 1 || maxThreads < 1 || maxHostThreads < 0) {
            throw new IllegalArgumentException("need heapMb >= 16, cpuMillicores >= 1, maxThreads >= 1 and "
                    + "maxHostThreads >= 0");
        }
        if (maxHostThreads == 0) {
            maxHostThreads = defaultHostThreads(maxThreads);
        }
        if (maxHostThreads < BASE_HOST_THREADS + maxThreads) {
            throw new IllegalArgumentException("maxHostThreads must be at least " + (BASE_HOST_THREADS + maxThreads)
                    + " (the host's own threads and its calls); found " + maxHostThreads);
        }
    }

    /** The limits with {@link #defaultHostThreads(int) the default} task cap. */
    public HostLimits(int heapMb, int cpuMillicores, int maxThreads) {
        this(heapMb, cpuMillicores, maxThreads, 0);
    }

    /** The default task cap: the host's own threads, one per call it runs at once, and as many again for the plugin. */
    public static int defaultHostThreads(int maxThreads) {
        return BASE_HOST_THREADS + 2 * maxThreads + 16;
    }

    /** The host's memory limit with cgroups: its heap and {@link #NON_HEAP_MB}. */
    public int memoryMb() {
        return heapMb + NON_HEAP_MB;
    }

    /** The form of the {@link PluginHosts#HEADER} header. */
    public String header() {
        return "heapMb=" + heapMb + ";cpuMillicores=" + cpuMillicores + ";maxThreads=" + maxThreads
                + ";maxHostThreads=" + maxHostThreads;
    }

    /** Reads {@link #header()}; fields it does not name keep the untrusted defaults. */
    public static HostLimits parse(String header) {
        int heap = UNTRUSTED_DEFAULTS.heapMb();
        int cpu = UNTRUSTED_DEFAULTS.cpuMillicores();
        int threads = UNTRUSTED_DEFAULTS.maxThreads();
        int hostThreads = 0;
        for (String part : header.split(";")) {
            String[] kv = part.split("=", 2);
            if (kv.length != 2) {
                continue;
            }
            int v = Integer.parseInt(kv[1].strip());
            switch (kv[0].strip()) {
                case "heapMb" -> heap = v;
                case "cpuMillicores" -> cpu = v;
                case "maxThreads" -> threads = v;
                case "maxHostThreads" -> hostThreads = v;
                default -> {
                    // a later version's field
                }
            }
        }
        return new HostLimits(heap, cpu, threads, hostThreads);
    }
}
