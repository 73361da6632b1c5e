package dev.parley.sandbox.internal;

import dev.parley.sandbox.SandboxPolicy;
import dev.parley.sandbox.TierPolicy;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands the policy in force to the parts of the sandbox that act inside the framework, as their configurations: one
 * factory configuration per tier for the framework hooks ({@value #HOOKS_TIER_PID}{@code ~<tier>}: the tier's plugins
 * and publishers, its imports as the packages its plugins may wire to, narrowing the hooks' own, and
 * {@code runtime.enforce}) and one for the plugin call guard ({@value #GUARD_TIER_PID}{@code ~<tier>}: its plugins
 * and publishers and {@code limits.callTimeoutMs}, {@code limits.maxConcurrentCalls}). Those bundles keep no
 * dependency on this one; Configuration Admin carries the policy to them, and keeps it across restarts.
 *
 * <p>A configuration is written only when its values changed, so a node reading the same policy again changes
 * nothing.
 */
final class TierConfigurations {
    private static final Logger LOG = LoggerFactory.getLogger(TierConfigurations.class);

    static final String HOOKS_TIER_PID = "dev.parley.sandbox.hooks.tier";
    static final String GUARD_TIER_PID = "dev.parley.plugin.guard.tier";
    /** Marks a configuration this class writes: change the policy instead (the next write replaces it). */
    static final String SOURCE_KEY = "parley.source";
    static final String SOURCE = "sandbox-policy";
    /** The JDK's own packages come from the boot class path; the hooks need them named. */
    static final String JAVA = "java.*";

    private final ConfigurationAdmin configAdmin;
    private SandboxPolicy written;

    TierConfigurations(ConfigurationAdmin configAdmin) {
        this.configAdmin = configAdmin;
    }

    /** Writes every tier's configurations unless {@code policy} is the one written last. */
    synchronized void write(SandboxPolicy policy) {
        if (policy.equals(written)) {
            return;
        }
        boolean all = true;
        for (TierPolicy t : policy.tiers().values()) {
            all &= write(HOOKS_TIER_PID, t, hooks(t));
            all &= write(GUARD_TIER_PID, t, guard(t));
        }
        if (all) {
            written = policy;
        }
    }

    private boolean write(String factoryPid, TierPolicy t, Hashtable<String, Object> properties) {
        try {
            Configuration c = configAdmin.getFactoryConfiguration(factoryPid, t.tier().slug(), "?");
            if (c.updateIfDifferent(properties)) {
                LOG.info("event=sandbox_tier_configuration_written pid={} tier={}", c.getPid(), t.tier().slug());
            }
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.error("event=sandbox_tier_configuration_failed pid={}~{} reason=\"{}\" hint=\"the framework keeps "
                    + "the tier's previous configuration; written again at the next read of the policy\"", factoryPid,
                    t.tier().slug(), e.toString());
            return false;
        }
    }

    /**
     * The hooks' configuration of a tier: its imports (and {@code java.*}) as the packages its plugins may wire to,
     * narrowing the hooks' own lists ({@code narrowsDefaults}), whose services the tier keeps.
     */
    static Hashtable<String, Object> hooks(TierPolicy t) {
        Hashtable<String, Object> p = common(t);
        List<String> packages = new ArrayList<>(t.imports());
        if (!packages.contains(JAVA) && !packages.contains("*")) {
            packages.add(JAVA);
        }
        p.put("allowedPackages", packages.toArray(String[]::new));
        p.put("jdkPackages", new String[0]);
        p.put("narrowsDefaults", Boolean.TRUE);
        p.put("enforce", t.runtime().enforce());
        return p;
    }

    /** The guard's configuration of a tier: its call limits (0: the guard's own). */
    static Hashtable<String, Object> guard(TierPolicy t) {
        Hashtable<String, Object> p = common(t);
        p.put("callTimeoutMillis", t.limits().callTimeoutMs());
        p.put("maxConcurrentCalls", t.limits().maxConcurrentCalls());
        return p;
    }

    private static Hashtable<String, Object> common(TierPolicy t) {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("name", t.tier().slug());
        p.put("plugins", t.plugins().toArray(String[]::new));
        p.put("publishers", t.publishers().toArray(String[]::new));
        p.put(SOURCE_KEY, SOURCE);
        return p;
    }
}
