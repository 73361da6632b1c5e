package dev.parley.api.routing;

import java.util.List;

/**
 * An alias and where it comes from.
 *
 * @param definition the alias in the syntax {@link ModelRoutingAdmin#putAlias} takes
 * @param source     {@code configuration} (PID {@code dev.parley.router}, PARLEY_MODEL_ALIASES) or {@code admin}
 *                   (the admin API, kept in the database)
 */
public record AliasView(String name, RoutingStrategy strategy, List<Target> targets, String definition,
        String source) {
    public AliasView {
        targets = List.copyOf(targets);
    }

    /** A provider's model an alias routes to, with its weight (used by the weighted strategy). */
    public record Target(String providerId, String modelId, int weight) {
        @Override
        public String toString() {
            return providerId + "/" + modelId;
        }
    }
}
