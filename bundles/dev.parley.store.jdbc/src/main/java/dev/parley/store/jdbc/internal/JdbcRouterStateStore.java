package dev.parley.store.jdbc.internal;

import dev.parley.api.routing.RouterStateStore;
import dev.parley.db.Database;
import dev.parley.db.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The model router's claims and admin aliases (tables of migration V6 of this bundle) and which plugin each provider
 * id belongs to (V15, ADR 29) in Parley's database. Every write commits at once; a claim or a binding is taken with a
 * plain insert that loses to an earlier one on the primary key, so two nodes taking one together agree on one.
 */
@Component(service = RouterStateStore.class)
public final class JdbcRouterStateStore implements RouterStateStore {
    private final Database database;
    private final Clock clock;

    @Activate
    public JdbcRouterStateStore(@Reference Database database) {
        this(database, Clock.systemUTC());
    }

    JdbcRouterStateStore(Database database, Clock clock) {
        this.database = database;
        this.clock = clock;
        StoreSchema.migrate(database);
    }

    @Override
    public State load() {
        return database.inTransaction("read the router state", c -> {
            try (Statement st = c.createStatement()) {
                Map<String, String> claims = new HashMap<>();
                try (ResultSet rs = st.executeQuery("SELECT model_id, provider_id FROM router_claims")) {
                    while (rs.next()) {
                        claims.put(rs.getString(1), rs.getString(2));
                    }
                }
                Map<String, String> aliases = new HashMap<>();
                try (ResultSet rs = st.executeQuery("SELECT name, definition FROM router_aliases")) {
                    while (rs.next()) {
                        aliases.put(rs.getString(1), rs.getString(2));
                    }
                }
                return new State(claims, aliases);
            }
        });
    }

    @Override
    public String claimIfAbsent(String modelId, String providerId) {
        return insertIfAbsent("INSERT INTO router_claims (model_id, provider_id, updated_at) VALUES (?, ?, ?)",
                "SELECT provider_id FROM router_claims WHERE model_id = ?", modelId, providerId,
                "claim model " + modelId);
    }

    @Override
    public Map<String, String> providerPlugins() {
        return database.inTransaction("read the provider plugins", c -> {
            Map<String, String> out = new HashMap<>();
            try (Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT provider_id, plugin_id FROM router_provider_plugins")) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getString(2));
                }
            }
            return out;
        });
    }

    @Override
    public String bindProviderIfAbsent(String providerId, String pluginId) {
        return insertIfAbsent("INSERT INTO router_provider_plugins (provider_id, plugin_id, bound_at) VALUES (?, ?, ?)",
                "SELECT plugin_id FROM router_provider_plugins WHERE provider_id = ?", providerId, pluginId,
                "bind provider " + providerId);
    }

    @Override
    public boolean releaseProvider(String providerId, String pluginId) {
        return database.inTransaction("release provider " + providerId, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "DELETE FROM router_provider_plugins WHERE provider_id = ? AND plugin_id = ?")) {
                ps.setString(1, providerId);
                ps.setString(2, pluginId);
                return ps.executeUpdate() > 0;
            }
        });
    }

    /**
     * Inserts {@code key → value} unless the key is there; returns the value stored afterwards (the earlier one when
     * the key was taken, on this node or another), trying again if it was removed meanwhile.
     */
    private String insertIfAbsent(String insert, String select, String key, String value, String action) {
        return database.inTransaction(action, c -> {
            while (true) {
                try (PreparedStatement ps = c.prepareStatement(insert)) {
                    ps.setString(1, key);
                    ps.setString(2, value);
                    ps.setObject(3, Sql.timestamp(clock.instant()));
                    ps.executeUpdate();
                    return value;
                } catch (SQLException e) {
                    if (!Sql.isUniqueViolation(e)) {
                        throw e;
                    }
                    c.rollback();
                }
                try (PreparedStatement ps = c.prepareStatement(select)) {
                    ps.setString(1, key);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            return rs.getString(1);
                        }
                    }
                }
            }
        });
    }

    @Override
    public void putClaim(String modelId, String providerId) {
        upsert("UPDATE router_claims SET provider_id = ?, updated_at = ? WHERE model_id = ?",
                "INSERT INTO router_claims (provider_id, updated_at, model_id) VALUES (?, ?, ?)", providerId, modelId,
                "store the claim on model " + modelId);
    }

    @Override
    public boolean deleteClaim(String modelId) {
        return delete("DELETE FROM router_claims WHERE model_id = ?", modelId, "remove the claim on model " + modelId);
    }

    @Override
    public void putAlias(String name, String definition) {
        upsert("UPDATE router_aliases SET definition = ?, updated_at = ? WHERE name = ?",
                "INSERT INTO router_aliases (definition, updated_at, name) VALUES (?, ?, ?)", definition, name,
                "store alias " + name);
    }

    @Override
    public boolean deleteAlias(String name) {
        return delete("DELETE FROM router_aliases WHERE name = ?", name, "remove alias " + name);
    }

    /** Update, else insert; an insert that loses a race to another node's insert updates after all. */
    private void upsert(String update, String insert, String value, String key, String action) {
        database.inTransaction(action, c -> {
            for (int attempt = 0; attempt < 3; attempt++) {
                if (run(c, update, value, key) == 1) {
                    return null;
                }
                try {
                    run(c, insert, value, key);
                    return null;
                } catch (SQLException e) {
                    if (!Sql.isUniqueViolation(e)) {
                        throw e;
                    }
                    c.rollback();
                }
            }
            throw new SQLException("row kept changing under concurrent writers");
        });
    }

    private int run(Connection c, String sql, String value, String key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, value);
            ps.setObject(2, Sql.timestamp(clock.instant()));
            ps.setString(3, key);
            return ps.executeUpdate();
        }
    }

    private boolean delete(String sql, String key, String action) {
        return database.inTransaction(action, c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setString(1, key);
                return ps.executeUpdate() > 0;
            }
        });
    }
}
