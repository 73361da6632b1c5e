package dev.parley.modelaccess.internal;

import dev.parley.db.Database;
import dev.parley.db.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/** The bundle's tables: the operator's plugin rules and each tenant's model settings. */
final class AccessStore {
    static final String MODULE = "dev.parley.modelaccess";
    static final String MIGRATIONS = "db/migration/" + MODULE + "/";
    static final List<String> MIGRATION_FILES = List.of("V1__model_access.sql");

    private final Database database;

    AccessStore(Database database) {
        this.database = database;
        database.migrate(MODULE, AccessStore.class.getClassLoader(), MIGRATIONS, MIGRATION_FILES);
    }

    /** Every plugin rule, by plugin id. */
    Map<String, PluginRule> pluginRules() {
        return database.inTransaction("read the plugins' tenants", c -> {
            Map<String, Set<String>> allowed = new TreeMap<>();
            Map<String, Set<String>> denied = new TreeMap<>();
            try (PreparedStatement st = c.prepareStatement(
                    "SELECT plugin_id, tenant_id, allowed FROM model_access_plugin_tenants");
                    ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    (rs.getBoolean(3) ? allowed : denied).computeIfAbsent(rs.getString(1), k -> new HashSet<>())
                            .add(rs.getString(2));
                }
            }
            Map<String, PluginRule> out = new TreeMap<>();
            try (PreparedStatement st = c.prepareStatement(
                    "SELECT plugin_id, restricted, updated_at, updated_by FROM model_access_plugins");
                    ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    String id = rs.getString(1);
                    out.put(id, new PluginRule(id, rs.getBoolean(2), allowed.getOrDefault(id, Set.of()),
                            denied.getOrDefault(id, Set.of()), Sql.instant(rs, 3), rs.getString(4)));
                }
            }
            return out;
        });
    }

    /** Creates or replaces the rule of its plugin; returns whether it was created. */
    boolean putPluginRule(PluginRule rule) {
        return database.inTransaction("change the plugin's tenants", c -> {
            boolean existed;
            try (PreparedStatement st = c.prepareStatement("DELETE FROM model_access_plugin_tenants WHERE plugin_id = ?")) {
                st.setString(1, rule.pluginId());
                st.executeUpdate();
            }
            try (PreparedStatement st = c.prepareStatement("DELETE FROM model_access_plugins WHERE plugin_id = ?")) {
                st.setString(1, rule.pluginId());
                existed = st.executeUpdate() > 0;
            }
            try (PreparedStatement st = c.prepareStatement("INSERT INTO model_access_plugins (plugin_id, restricted, "
                    + "updated_at, updated_by) VALUES (?, ?, ?, ?)")) {
                st.setString(1, rule.pluginId());
                st.setBoolean(2, rule.restricted());
                st.setObject(3, Sql.timestamp(rule.updatedAt()));
                st.setString(4, rule.updatedBy());
                st.executeUpdate();
            }
            try (PreparedStatement st = c.prepareStatement("INSERT INTO model_access_plugin_tenants (plugin_id, "
                    + "tenant_id, allowed) VALUES (?, ?, ?)")) {
                for (String t : rule.allowed()) {
                    addTenant(st, rule.pluginId(), t, true);
                }
                for (String t : rule.denied()) {
                    addTenant(st, rule.pluginId(), t, false);
                }
                st.executeBatch();
            }
            return !existed;
        });
    }

    private static void addTenant(PreparedStatement st, String plugin, String tenant, boolean allowed)
            throws SQLException {
        st.setString(1, plugin);
        st.setString(2, tenant);
        st.setBoolean(3, allowed);
        st.addBatch();
    }

    /** @return whether there was a rule to remove */
    boolean deletePluginRule(String pluginId) {
        return database.inTransaction("remove the plugin's tenants", c -> {
            try (PreparedStatement st = c.prepareStatement("DELETE FROM model_access_plugin_tenants WHERE plugin_id = ?")) {
                st.setString(1, pluginId);
                st.executeUpdate();
            }
            try (PreparedStatement st = c.prepareStatement("DELETE FROM model_access_plugins WHERE plugin_id = ?")) {
                st.setString(1, pluginId);
                return st.executeUpdate() > 0;
            }
        });
    }

    /** The tenant's settings; {@link TenantSettings#none} when it has none. */
    TenantSettings tenantSettings(String tenantId) {
        return database.inTransaction("read the tenant's models", c -> read(c, tenantId));
    }

    private static TenantSettings read(Connection c, String tenantId) throws SQLException {
        boolean defaultEnabled;
        Instant at;
        String by;
        try (PreparedStatement st = c.prepareStatement(
                "SELECT default_enabled, updated_at, updated_by FROM model_access_tenants WHERE tenant_id = ?")) {
            st.setString(1, tenantId);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return TenantSettings.none(tenantId);
                }
                defaultEnabled = rs.getBoolean(1);
                at = Sql.instant(rs, 2);
                by = rs.getString(3);
            }
        }
        Map<String, Boolean> models = new LinkedHashMap<>();
        try (PreparedStatement st = c.prepareStatement("SELECT model_id, enabled FROM model_access_tenant_models "
                + "WHERE tenant_id = ? ORDER BY model_id")) {
            st.setString(1, tenantId);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    models.put(rs.getString(1), rs.getBoolean(2));
                }
            }
        }
        return new TenantSettings(tenantId, defaultEnabled, models, at, by);
    }

    /**
     * Replaces the tenant's settings with {@code settings} in one transaction (the default with no model named
     * removes its rows: the tenant is back to everything enabled).
     */
    void putTenantSettings(TenantSettings settings) {
        database.inTransaction("change the tenant's models", c -> {
            try (PreparedStatement st = c.prepareStatement("DELETE FROM model_access_tenant_models WHERE tenant_id = ?")) {
                st.setString(1, settings.tenantId());
                st.executeUpdate();
            }
            try (PreparedStatement st = c.prepareStatement("DELETE FROM model_access_tenants WHERE tenant_id = ?")) {
                st.setString(1, settings.tenantId());
                st.executeUpdate();
            }
            if (settings.isDefault()) {
                return null;
            }
            try (PreparedStatement st = c.prepareStatement("INSERT INTO model_access_tenants (tenant_id, "
                    + "default_enabled, updated_at, updated_by) VALUES (?, ?, ?, ?)")) {
                st.setString(1, settings.tenantId());
                st.setBoolean(2, settings.defaultEnabled());
                st.setObject(3, Sql.timestamp(settings.updatedAt()));
                st.setString(4, settings.updatedBy());
                st.executeUpdate();
            }
            try (PreparedStatement st = c.prepareStatement("INSERT INTO model_access_tenant_models (tenant_id, "
                    + "model_id, enabled) VALUES (?, ?, ?)")) {
                for (Map.Entry<String, Boolean> e : settings.models().entrySet()) {
                    st.setString(1, settings.tenantId());
                    st.setString(2, e.getKey());
                    st.setBoolean(3, e.getValue());
                    st.addBatch();
                }
                st.executeBatch();
            }
            return null;
        });
    }

    /** For tests: every tenant with settings. */
    List<String> tenantsWithSettings() {
        return database.inTransaction("list the tenants with model settings", c -> {
            List<String> out = new ArrayList<>();
            try (PreparedStatement st = c.prepareStatement("SELECT tenant_id FROM model_access_tenants ORDER BY 1");
                    ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            return out;
        });
    }

    Optional<PluginRule> pluginRule(String pluginId) {
        return Optional.ofNullable(pluginRules().get(pluginId));
    }
}
