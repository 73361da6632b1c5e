package dev.parley.sandbox.internal;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.db.Database;
import dev.parley.db.Sql;
import dev.parley.registry.Permission;
import dev.parley.sandbox.HeldUpgrades.Held;
import java.io.IOException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The sandbox's tables ({@code sandbox_policy}, {@code sandbox_held_upgrades}; this bundle's V1) in Parley's database. */
final class PolicyStore {
    static final String MODULE = "dev.parley.sandbox";
    static final List<String> MIGRATIONS = List.of("V1__sandbox_policy.sql");

    /** One stored tier policy (its JSON), with its generation. */
    record Row(String tier, String policy, long generation, Instant updatedAt, String updatedBy) {
    }

    private static final TypeReference<List<Permission>> PERMISSIONS = new TypeReference<>() { };
    private final Database database;
    private final ObjectMapper json = new ObjectMapper();

    PolicyStore(Database database) {
        this.database = database;
        database.migrate(MODULE, PolicyStore.class.getClassLoader(), "db/migration/" + MODULE + "/", MIGRATIONS);
    }

    List<Row> policies() {
        return database.inTransaction("read the sandbox policy", c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT tier, policy, generation, updated_at, updated_by FROM sandbox_policy ORDER BY tier");
                    ResultSet rs = ps.executeQuery()) {
                List<Row> rows = new ArrayList<>();
                while (rs.next()) {
                    rows.add(new Row(rs.getString(1), rs.getString(2), rs.getLong(3), Sql.instant(rs, "updated_at"),
                            rs.getString(5)));
                }
                return rows;
            }
        });
    }

    /** Stores a tier's policy as the next generation (update, or insert of generation 1). */
    Row put(String tier, String policy, String actor, Instant at) {
        return database.inTransaction("change the sandbox policy", c -> {
            long generation;
            try (PreparedStatement ps = c.prepareStatement("SELECT generation FROM sandbox_policy WHERE tier = ?")) {
                ps.setString(1, tier);
                try (ResultSet rs = ps.executeQuery()) {
                    generation = rs.next() ? rs.getLong(1) : 0;
                }
            }
            String sql = generation == 0
                    ? "INSERT INTO sandbox_policy (policy, generation, updated_at, updated_by, tier) VALUES (?, ?, ?, ?, ?)"
                    : "UPDATE sandbox_policy SET policy = ?, generation = ?, updated_at = ?, updated_by = ? WHERE tier = ?";
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setString(1, policy);
                ps.setLong(2, generation + 1);
                ps.setObject(3, Sql.timestamp(at));
                ps.setString(4, actor);
                ps.setString(5, tier);
                ps.executeUpdate();
            }
            return new Row(tier, policy, generation + 1, at, actor);
        });
    }

    void delete(String tier) {
        database.inTransaction("reset the sandbox policy", c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM sandbox_policy WHERE tier = ?")) {
                ps.setString(1, tier);
                return ps.executeUpdate();
            }
        });
    }

    void hold(Held h) {
        String permissions;
        try {
            permissions = json.writeValueAsString(h.permissionsAdded());
        } catch (IOException e) {
            throw new IllegalStateException("cannot write permissions", e);
        }
        database.inTransaction("hold a plugin upgrade", c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM sandbox_held_upgrades WHERE plugin_id = ?")) {
                ps.setString(1, h.pluginId());
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO sandbox_held_upgrades (plugin_id, from_version, "
                    + "to_version, permissions, requested_by, requested_at) VALUES (?, ?, ?, ?, ?, ?)")) {
                ps.setString(1, h.pluginId());
                ps.setString(2, h.fromVersion());
                ps.setString(3, h.toVersion());
                ps.setString(4, permissions);
                ps.setString(5, h.requestedBy());
                ps.setObject(6, Sql.timestamp(h.requestedAt()));
                ps.executeUpdate();
            } catch (SQLException e) {
                if (Sql.isUniqueViolation(e)) {
                    c.rollback(); // another node held one at the same moment: its request stands
                    return null;
                }
                throw e;
            }
            return null;
        });
    }

    Optional<Held> held(String pluginId) {
        return held("SELECT * FROM sandbox_held_upgrades WHERE plugin_id = ?", pluginId).stream().findFirst();
    }

    List<Held> held() {
        return held("SELECT * FROM sandbox_held_upgrades ORDER BY plugin_id", null);
    }

    void release(String pluginId) {
        database.inTransaction("release a held plugin upgrade", c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM sandbox_held_upgrades WHERE plugin_id = ?")) {
                ps.setString(1, pluginId);
                return ps.executeUpdate();
            }
        });
    }

    private List<Held> held(String sql, String pluginId) {
        return database.inTransaction("read held plugin upgrades", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                if (pluginId != null) {
                    ps.setString(1, pluginId);
                }
                List<Held> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        List<Permission> permissions;
                        try {
                            permissions = json.readValue(rs.getString("permissions"), PERMISSIONS);
                        } catch (IOException e) {
                            throw new SQLException("unreadable permissions of a held upgrade", e);
                        }
                        out.add(new Held(rs.getString("plugin_id"), rs.getString("from_version"),
                                rs.getString("to_version"), permissions, rs.getString("requested_by"),
                                Sql.instant(rs, "requested_at")));
                    }
                }
                return out;
            }
        });
    }
}
