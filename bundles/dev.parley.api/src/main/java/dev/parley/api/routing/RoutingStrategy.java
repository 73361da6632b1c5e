package dev.parley.api.routing;

import java.util.Locale;

/** How an alias orders its targets for one request; every strategy skips targets whose breaker is open. */
public enum RoutingStrategy {
    /** In the order listed. */
    PRIORITY("priority"),
    /** One drawn at random by weight first, the others after it by weight. */
    WEIGHTED("weighted"),
    /** Lowest recent time to first token first; targets not yet measured go first, so they get measured. */
    LEAST_LATENCY("least-latency"),
    /** Cheapest first by the price table (input plus output price); targets without a price last. */
    COST("cost");

    private final String label;

    RoutingStrategy(String label) {
        this.label = label;
    }

    /** The name used in alias definitions. */
    public String label() {
        return label;
    }

    /** @return the strategy named {@code label} (case-insensitive), or null when there is none */
    public static RoutingStrategy of(String label) {
        String l = label == null ? "" : label.strip().toLowerCase(Locale.ROOT);
        for (RoutingStrategy s : values()) {
            if (s.label.equals(l)) {
                return s;
            }
        }
        return null;
    }
}
