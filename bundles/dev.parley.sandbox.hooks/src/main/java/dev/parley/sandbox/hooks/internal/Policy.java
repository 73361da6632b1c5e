package dev.parley.sandbox.hooks.internal;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The rules in force: the default ones and the tiers, each with its plugins. Read on every hook call (one volatile
 * read and a map look-up), changed by configuration. Registered as a service of this bundle only for its
 * configuration components (plugins cannot see it).
 */
public final class Policy {
    /** A tier as configured: its rules and its plugin ids. */
    record Tier(Rules rules, Set<String> plugins) {
    }

    private record State(Rules defaults, Map<String, Rules> byPlugin) {
    }

    private final Consumer<String> conflicts;
    /** By configuration key (the factory configuration's PID), so a tier can be changed or removed as configured. */
    private final Map<String, Tier> tiers = new TreeMap<>();
    private Rules defaults;
    private volatile State state;
    private volatile java.util.function.Function<org.osgi.framework.Bundle, List<PluginGrants.HostPort>> endpoints;

    /** @param conflicts told about a plugin that two tiers name (the message says which tier it gets) */
    Policy(Rules defaults, Consumer<String> conflicts) {
        this.conflicts = conflicts;
        this.defaults = defaults;
        this.state = new State(defaults, Map.of());
    }

    /** The rules for the plugin {@code pluginId} (null: a plugin whose id is not known gets the default rules). */
    Rules rules(String pluginId) {
        State s = state;
        if (pluginId == null) {
            return s.defaults();
        }
        Rules r = s.byPlugin().get(pluginId);
        return r != null ? r : s.defaults();
    }

    /** The endpoints an admin configured for a plugin ({@link ConfiguredEndpoints}); none while it is not active. */
    List<PluginGrants.HostPort> endpoints(org.osgi.framework.Bundle plugin) {
        var e = endpoints;
        return e == null ? List.of() : e.apply(plugin);
    }

    void endpoints(java.util.function.Function<org.osgi.framework.Bundle, List<PluginGrants.HostPort>> source) {
        endpoints = source;
    }

    synchronized void defaults(Rules rules) {
        this.defaults = rules;
        rebuild();
    }

    synchronized void tier(String key, Tier tier) {
        tiers.put(key, tier);
        rebuild();
    }

    synchronized void removeTier(String key) {
        tiers.remove(key);
        rebuild();
    }

    private void rebuild() {
        // Sorted by tier name, so that a plugin two tiers name gets the same one on every node and at every start.
        List<Tier> byName = tiers.values().stream()
                .sorted((a, b) -> a.rules().name().compareTo(b.rules().name())).toList();
        Map<String, Rules> byPlugin = new HashMap<>();
        for (Tier t : byName) {
            for (String plugin : t.plugins()) {
                Rules earlier = byPlugin.putIfAbsent(plugin, t.rules());
                if (earlier != null) {
                    conflicts.accept("plugin " + plugin + " is in tiers " + earlier.name() + " and " + t.rules().name()
                            + "; it gets tier " + earlier.name());
                }
            }
        }
        state = new State(defaults, Map.copyOf(byPlugin));
    }
}
