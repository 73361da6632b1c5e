package dev.parley.modelaccess.internal;

import java.time.Instant;
import java.util.Set;

/**
 * The operator's rule for one plugin: {@code restricted} — only the {@code allowed} tenants may use it; otherwise
 * every tenant may; in both cases never the {@code denied} ones.
 */
record PluginRule(String pluginId, boolean restricted, Set<String> allowed, Set<String> denied, Instant updatedAt,
        String updatedBy) {
    PluginRule {
        allowed = Set.copyOf(allowed);
        denied = Set.copyOf(denied);
    }

    boolean allows(String tenantId) {
        if (denied.contains(tenantId)) {
            return false;
        }
        return !restricted || allowed.contains(tenantId);
    }
}
