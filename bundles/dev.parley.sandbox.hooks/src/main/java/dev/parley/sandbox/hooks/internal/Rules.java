package dev.parley.sandbox.hooks.internal;

/**
 * What the plugins of one tier (or of none: the default) may use.
 *
 * @param name        the tier's name, {@code default} for plugins in no tier
 * @param packages    packages a plugin may wire to from any bundle that is not a plugin
 * @param jdkPackages packages a plugin may wire to only from the system bundle (the JDK's)
 * @param visible     service interfaces a plugin may find among the platform's services
 * @param provided    service interfaces under which a plugin's own services are seen by other bundles
 * @param enforce     what the run-time checks woven into its classes do with a call its grants do not cover:
 *                    {@link #REFUSE} it, or {@link #REPORT} it (log and count, then let it run)
 * @param within      rules whose packages also have to allow a package (a tier the sandbox policy writes narrows the
 *                    default rules this way); null: these rules alone decide
 */
record Rules(String name, Patterns packages, Patterns jdkPackages, Patterns visible, Patterns provided, String enforce,
        Rules within) {
    static final String DEFAULT = "default";
    static final String REFUSE = "refuse";
    static final String REPORT = "report";

    /** Rules whose run-time checks refuse. */
    Rules(String name, Patterns packages, Patterns jdkPackages, Patterns visible, Patterns provided) {
        this(name, packages, jdkPackages, visible, provided, REFUSE);
    }

    Rules(String name, Patterns packages, Patterns jdkPackages, Patterns visible, Patterns provided, String enforce) {
        this(name, packages, jdkPackages, visible, provided, enforce, null);
    }

    /**
     * These rules within {@code outer}: a package must be allowed by both, the services are {@code outer}'s, the
     * name and {@code enforce} these rules'.
     */
    Rules narrowing(Rules outer) {
        return new Rules(name, packages, jdkPackages, outer.visible(), outer.provided(), enforce, outer);
    }

    Rules {
        if (!REFUSE.equals(enforce) && !REPORT.equals(enforce)) {
            throw new IllegalArgumentException("enforce must be refuse or report, not '" + enforce + "'");
        }
    }

    /** The built-in rules: {@link SandboxConfig}'s defaults. */
    static Rules defaults() {
        return of(DEFAULT, Defaults.of(SandboxConfig.class));
    }

    /** Nothing allowed: what a tier gets while its configuration is malformed. */
    static Rules closed(String name) {
        return new Rules(name, Patterns.NONE, Patterns.NONE, Patterns.NONE, Patterns.NONE);
    }

    /** @throws IllegalArgumentException naming the first malformed entry */
    static Rules of(String name, SandboxConfig c) {
        return new Rules(name, Patterns.of(c.allowedPackages()), Patterns.of(c.jdkPackages()),
                Patterns.of(c.visibleServices()), Patterns.of(c.providedServices()), c.enforce().strip());
    }

    /** @throws IllegalArgumentException naming the first malformed entry */
    static Rules of(String name, SandboxTierConfig c) {
        return new Rules(name, Patterns.of(c.allowedPackages()), Patterns.of(c.jdkPackages()),
                Patterns.of(c.visibleServices()), Patterns.of(c.providedServices()), c.enforce().strip());
    }

    /**
     * Whether a plugin may wire to {@code pkg} exported by a bundle that is not a plugin.
     *
     * @param fromSystemBundle whether the exporter is the system bundle (the JDK's packages come from it)
     */
    boolean allowsPackage(String pkg, boolean fromSystemBundle) {
        return (packages.allows(pkg) || fromSystemBundle && jdkPackages.allows(pkg))
                && (within == null || within.allowsPackage(pkg, fromSystemBundle));
    }
}
