package dev.parley.sandbox;

import java.util.List;

/**
 * The policy of one tier, as in its file under {@code sandbox-policy/} and in the admin API.
 *
 * @param tier        which tier this is
 * @param description what the tier is for, for admins
 * @param publishers  the publisher ids in this tier; {@code "*"} stands for every publisher an admin added to the
 *                    registry that no tier names (at most one tier has it)
 * @param plugins     plugin ids an admin placed in this tier whatever their publisher's tier (a plugin id is in one
 *                    tier at most): the tier is the admin's choice, defaulting from the publisher
 * @param imports     the packages its plugins may import (Import-Package, DynamicImport-Package): a package name, or
 *                    {@code a.b.*} for {@code a.b} and every package below it; {@code java.*} is always allowed
 * @param permissions the permission kinds that may be granted to its plugins at all ({@code network}, {@code secret},
 *                    {@code file}, {@code thread}); a plugin declaring another kind is refused
 * @param bytecode    what a use the plugin's declared permissions do not cover leads to, at admission
 * @param limits      limits around calls into its plugins
 * @param runtime     what the run-time checks woven into its plugins' classes do (since 1.2; {@code refuse} when a
 *                    file has none)
 */
public record TierPolicy(Tier tier, String description, List<String> publishers, List<String> plugins,
        List<String> imports, List<String> permissions, Bytecode bytecode, Limits limits, RuntimeChecks runtime) {

    /** Publisher entry standing for every registered publisher that no tier names. */
    public static final String ANY_REGISTERED = "*";

    public TierPolicy {
        description = description == null ? "" : description;
        publishers = publishers == null ? List.of() : List.copyOf(publishers);
        plugins = plugins == null ? List.of() : List.copyOf(plugins);
        imports = imports == null ? List.of() : List.copyOf(imports);
        permissions = permissions == null ? List.of() : List.copyOf(permissions);
        runtime = runtime == null ? RuntimeChecks.REFUSING : runtime;
    }

    /** A tier whose run-time checks refuse (as before 1.2). */
    public TierPolicy(Tier tier, String description, List<String> publishers, List<String> plugins,
            List<String> imports, List<String> permissions, Bytecode bytecode, Limits limits) {
        this(tier, description, publishers, plugins, imports, permissions, bytecode, limits, RuntimeChecks.REFUSING);
    }

    /** A tier that places no plugin by its id (as before 1.1). */
    public TierPolicy(Tier tier, String description, List<String> publishers, List<String> imports,
            List<String> permissions, Bytecode bytecode, Limits limits) {
        this(tier, description, publishers, List.of(), imports, permissions, bytecode, limits);
    }

    /**
     * @param enforce    {@code refuse}: a use the declared permissions do not cover refuses the plugin;
     *                   {@code report}: it is reported at dry-run and install, and the plugin is admitted (for the
     *                   server's own plugins, whose embedded libraries use reflection, files and threads)
     * @param reportOnly rule ids that are only reported even when {@code enforce} is {@code refuse}
     */
    public record Bytecode(String enforce, List<String> reportOnly) {
        public static final String REFUSE = "refuse";
        public static final String REPORT = "report";

        public Bytecode {
            reportOnly = reportOnly == null ? List.of() : List.copyOf(reportOnly);
        }

        /** Whether a use under {@code rule} refuses the plugin. */
        public boolean refuses(String rule) {
            return REFUSE.equals(enforce) && !reportOnly.contains(rule);
        }

        /** Whether no use refuses anything (then the scan only informs). */
        public boolean reportsOnly() {
            return REPORT.equals(enforce);
        }
    }

    /**
     * Limits around every call into a plugin of the tier, for the guarded calls to apply. 0 means no limit.
     *
     * @param callTimeoutMs      longest a call into a plugin may take (a stream: until its first event)
     * @param maxConcurrentCalls most calls into one plugin at once
     * @param outOfProcess       whether the tier's plugins run in a plugin-host process (ADR 31)
     * @param heapMb             heap of that process, MB ({@code -Xmx})
     * @param cpuMillicores      CPU of that process, thousandths of a core (its JVM's processor count and, with cgroups,
     *                           its CPU quota)
     * @param maxThreads         calls the host runs into the plugin at once
     * @param maxHostThreads     with cgroups, the most threads the host process may have ({@code pids.max}); 0 for the
     *                           plugin host's default
     */
    public record Limits(long callTimeoutMs, int maxConcurrentCalls, boolean outOfProcess, int heapMb,
            int cpuMillicores, int maxThreads, int maxHostThreads) {

        /** Limits with the default {@code maxHostThreads}. */
        public Limits(long callTimeoutMs, int maxConcurrentCalls, boolean outOfProcess, int heapMb, int cpuMillicores,
                int maxThreads) {
            this(callTimeoutMs, maxConcurrentCalls, outOfProcess, heapMb, cpuMillicores, maxThreads, 0);
        }
    }

    /**
     * What the run-time checks woven into the tier's plugin classes (ADR 30) do with a call the plugin's declared
     * permissions do not cover. Apart from {@link Bytecode#enforce()}, which is admission's: the trusted tier only
     * reports what its scan finds (the shipped plugins' libraries), while their calls at run time are still refused.
     *
     * @param enforce {@code refuse}: the call throws {@code SecurityException}; {@code report}: it is logged once per
     *                plugin and rule, counted, and runs
     * @since 1.2
     */
    public record RuntimeChecks(String enforce) {
        public static final String REFUSE = "refuse";
        public static final String REPORT = "report";
        public static final RuntimeChecks REFUSING = new RuntimeChecks(REFUSE);
    }

    /** Whether a plugin of this tier may import {@code pkg}. */
    public boolean allowsImport(String pkg) {
        if (pkg.equals("java") || pkg.startsWith("java.")) {
            return true; // the JDK's java.* packages come from the boot class path, never from a bundle
        }
        for (String pattern : imports) {
            if (matches(pattern, pkg)) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code kind} may be granted to a plugin of this tier. */
    public boolean grants(String kind) {
        return permissions.contains(kind);
    }

    /** {@code a.b.*} matches {@code a.b} and below; {@code *} everything; anything else itself. */
    static boolean matches(String pattern, String pkg) {
        if (pattern.equals("*")) {
            return true;
        }
        if (pattern.endsWith(".*")) {
            String base = pattern.substring(0, pattern.length() - 2);
            return pkg.equals(base) || pkg.startsWith(base + ".");
        }
        return pattern.equals(pkg);
    }
}
