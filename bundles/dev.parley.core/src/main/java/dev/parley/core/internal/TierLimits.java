package dev.parley.core.internal;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The call limits of one tier of trust and the plugins in it ({@link GuardTierConfig}). A bound of 0 is no bound of
 * the tier's own.
 *
 * @param name               the tier's name
 * @param plugins            plugin ids placed in the tier
 * @param publishers         publishers whose plugins are in the tier; {@value #ANY} for every publisher no tier names
 * @param callTimeoutMillis  the tier's call timeout, 0 for the guard's
 * @param maxConcurrentCalls the tier's calls at once per plugin, 0 for the guard's
 */
record TierLimits(String name, Set<String> plugins, Set<String> publishers, long callTimeoutMillis,
        int maxConcurrentCalls) {
    static final String ANY = "*";

    TierLimits {
        plugins = Set.copyOf(plugins);
        publishers = Set.copyOf(publishers);
        callTimeoutMillis = Math.max(0, callTimeoutMillis);
        maxConcurrentCalls = Math.max(0, maxConcurrentCalls);
    }

    static TierLimits of(String defaultName, GuardTierConfig c) {
        String name = c.name() == null || c.name().isBlank() ? defaultName : c.name().strip();
        return new TierLimits(name, clean(c.plugins()), clean(c.publishers()), c.callTimeoutMillis(),
                c.maxConcurrentCalls());
    }

    private static Set<String> clean(String[] values) {
        return Arrays.stream(Objects.requireNonNullElse(values, new String[0])).filter(Objects::nonNull)
                .map(String::strip).filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
    }

    /** The bound in force: the tier's when it is set and tighter than the guard's, else the guard's. */
    static long effective(long guard, long tier) {
        return tier > 0 && tier < guard ? tier : guard;
    }

    /**
     * Which tier each plugin is in, as the sandbox policy decides it: the tier naming its plugin id (the tiers sorted by
     * name, so that a plugin two tiers name gets the same one everywhere), else the tier naming its publisher, else the
     * tier holding {@value #ANY}, else none.
     */
    static final class Table {
        static final Table EMPTY = new Table(List.of());

        private final Map<String, TierLimits> byPlugin = new HashMap<>();
        private final Map<String, TierLimits> byPublisher = new HashMap<>();
        private final TierLimits any;
        private final List<TierLimits> tiers;

        Table(List<TierLimits> tiers) {
            List<TierLimits> sorted = tiers.stream().sorted((a, b) -> a.name().compareTo(b.name())).toList();
            TierLimits anyTier = null;
            for (TierLimits t : sorted) {
                t.plugins().forEach(p -> byPlugin.putIfAbsent(p, t));
                for (String p : t.publishers()) {
                    if (ANY.equals(p)) {
                        anyTier = anyTier == null ? t : anyTier;
                    } else {
                        byPublisher.putIfAbsent(p, t);
                    }
                }
            }
            this.any = anyTier;
            this.tiers = sorted;
        }

        /**
         * The tier of a plugin; null when it is in none. A bundle without a publisher (a platform bundle's provider)
         * is in a tier only when one names its id.
         */
        TierLimits of(String pluginId, String publisher) {
            TierLimits t = pluginId == null ? null : byPlugin.get(pluginId);
            if (t == null && publisher != null) {
                t = byPublisher.get(publisher);
                if (t == null) {
                    t = any;
                }
            }
            return t;
        }

        List<TierLimits> tiers() {
            return tiers;
        }
    }
}
