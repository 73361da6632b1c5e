package dev.parley.pluginhost;

/**
 * What a plugin host may use, from the tier's policy ({@code limits} in {@code sandbox-policy/*.json}).
 *
 * @param heapMb        the host JVM's heap ({@code -Xmx}); it ends on running out of memory and is restarted
 * @param cpuMillicores processors the JVM sizes itself for ({@code -XX:ActiveProcessorCount}, rounded up); a hard CPU
 *                      quota needs cgroups (ADR 31)
 * @param maxThreads    calls into the plugin the host runs at once; a bound on the plugin's own threads needs cgroups
 */
public record HostLimits(int heapMb, int cpuMillicores, int maxThreads) {
    public static final HostLimits UNTRUSTED_DEFAULTS = new HostLimits(256, 1000, 16);

    public HostLimits {
        if (heapMb < 16 || cpuMillicores < 1 || maxThreads < 1) {
            throw new IllegalArgumentException("need heapMb >= 16, cpuMillicores >= 1 and maxThreads >= 1");
        }
    }

    /** The form of the {@link PluginHosts#HEADER} header. */
    public String header() {
        return "heapMb=" + heapMb + ";cpuMillicores=" + cpuMillicores + ";maxThreads=" + maxThreads;
    }

    /** Reads {@link #header()}; fields it does not name keep the untrusted defaults. */
    public static HostLimits parse(String header) {
        int heap = UNTRUSTED_DEFAULTS.heapMb();
        int cpu = UNTRUSTED_DEFAULTS.cpuMillicores();
        int threads = UNTRUSTED_DEFAULTS.maxThreads();
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
                default -> {
                    // a later version's field
                }
            }
        }
        return new HostLimits(heap, cpu, threads);
    }
}
