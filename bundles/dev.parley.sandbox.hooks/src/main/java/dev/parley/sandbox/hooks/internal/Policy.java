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
    /**
     * A tier as configured: its rules, its plugin ids, its publishers ({@code *}: every publisher no tier names), and
     * whether its rules narrow the default ones ({@link Rules#narrowing}) rather than replace them.
     */
    record Tier(Rules rules, Set<String> plugins, Set<String> publishers, boolean narrows) {
        static final String ANY_PUBLISHER = "*";

        Tier(Rules rules, Set<String> plugins) {
            this(rules, plugins, Set.of(), false);
        }
    }

    private record State(Rules defaults, Map<String, Rules> byPlugin, Map<String, Rules> byPublisher, Rules any) {
    }

    private final Consumer<String> conflicts;
    /** By configuration key (the factory configuration's PID), so a tier can be changed or removed as configured. */
    private final Map<String, Tier> tiers = new TreeMap<>();
    private Rules defaults;
    private volatile State state;
    /** Configuration PID → the revision of it applied last (only configurations that carry one). */
    private final Map<String, String> applied = new TreeMap<>();
    private Consumer<List<String>> appliedListener;
    private volatile java.util.function.Function<org.osgi.framework.Bundle, List<PluginGrants.HostPort>> endpoints;

    /** @param conflicts told about a plugin that two tiers name (the message says which tier it gets) */
    Policy(Rules defaults, Consumer<String> conflicts) {
        this.conflicts = conflicts;
        this.defaults = defaults;
        this.state = new State(defaults, Map.of(), Map.of(), null);
    }

    /** The rules for the plugin {@code pluginId} of no known publisher (null: the default rules). */
    Rules rules(String pluginId) {
        return rules(pluginId, null);
    }

    /** The rules for a bundle of this kind (a platform bundle's: the default ones, never asked for). */
    Rules rulesOf(PluginBundles.Kind kind) {
        return rules(kind.pluginId(), kind.publisher());
    }

    /**
     * The rules of a plugin: the tier naming its id; else the tier naming its publisher; else, when it has a
     * publisher, the tier holding {@code *} (the sandbox policy's: every publisher no tier names); else the default
     * rules.
     */
    Rules rules(String pluginId, String publisher) {
        State s = state;
        Rules r = pluginId == null ? null : s.byPlugin().get(pluginId);
        if (r == null && publisher != null) {
            r = s.byPublisher().get(publisher);
            if (r == null) {
                r = s.any();
            }
        }
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

    /**
     * The configuration {@code pid} is in force with {@code revision} (its {@code parley.sandbox.revision}; null: it
     * carries none). Called after its rules were set.
     */
    synchronized void applied(String pid, Object revision) {
        if (revision == null) {
            if (applied.remove(pid) == null) {
                return;
            }
        } else {
            applied.put(pid, String.valueOf(revision));
        }
        tellApplied();
    }

    /** The configuration {@code pid} is gone. */
    synchronized void removeApplied(String pid) {
        if (applied.remove(pid) != null) {
            tellApplied();
        }
    }

    /** Told {@code <pid>=<revision>} of every applied configuration now and after each change, in order. */
    synchronized void onApplied(Consumer<List<String>> listener) {
        appliedListener = listener;
        tellApplied();
    }

    private void tellApplied() {
        if (appliedListener != null) {
            appliedListener.accept(applied.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList());
        }
    }

    private void rebuild() {
        // Sorted by tier name, so that a plugin two tiers name gets the same one on every node and at every start.
        List<Tier> byName = tiers.values().stream()
                .sorted((a, b) -> a.rules().name().compareTo(b.rules().name())).toList();
        Map<String, Rules> byPlugin = new HashMap<>();
        Map<String, Rules> byPublisher = new HashMap<>();
        Rules any = null;
        for (Tier t : byName) {
            Rules rules = t.narrows() ? t.rules().narrowing(defaults) : t.rules();
            for (String plugin : t.plugins()) {
                Rules earlier = byPlugin.putIfAbsent(plugin, rules);
                if (earlier != null) {
                    conflicts.accept("plugin " + plugin + " is in tiers " + earlier.name() + " and " + rules.name()
                            + "; it gets tier " + earlier.name());
                }
            }
            for (String publisher : t.publishers()) {
                if (Tier.ANY_PUBLISHER.equals(publisher)) {
                    if (any == null) {
                        any = rules;
                    } else {
                        conflicts.accept("* (every publisher) is in tiers " + any.name() + " and " + rules.name()
                                + "; it is in tier " + any.name());
                    }
                    continue;
                }
                Rules earlier = byPublisher.putIfAbsent(publisher, rules);
                if (earlier != null) {
                    conflicts.accept("publisher " + publisher + " is in tiers " + earlier.name() + " and "
                            + rules.name() + "; its plugins get tier " + earlier.name());
                }
            }
        }
        state = new State(defaults, Map.copyOf(byPlugin), Map.copyOf(byPublisher), any);
    }
}
