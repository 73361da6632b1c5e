package dev.parley.modelaccess.internal;

import java.time.Instant;
import java.util.Map;

/**
 * A tenant admin's models: {@code defaultEnabled} for every model it did not name, and its setting of each it named
 * (a bare model id, {@code provider/model}, or an alias).
 */
record TenantSettings(String tenantId, boolean defaultEnabled, Map<String, Boolean> models, Instant updatedAt,
        String updatedBy) {
    /** What a tenant without rows has: everything enabled. */
    static TenantSettings none(String tenantId) {
        return new TenantSettings(tenantId, true, Map.of(), null, null);
    }

    TenantSettings {
        models = Map.copyOf(models);
    }

    boolean isDefault() {
        return defaultEnabled && models.isEmpty();
    }
}
