package dev.parley.plugins.internal;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.secrets.SecretSealer;
import dev.parley.db.Database;
import dev.parley.db.Sql;
import java.io.IOException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Desired plugin state, per-node status and the event history, in the tables this bundle's V3 migration creates, and
 * the plugins admins uninstalled (V9) (and the tenants' provider instances, V10, which {@link TenantProviderStore}
 * reads, and the per-node start records and holds, V11, which {@link PluginStartStore} reads); in Parley's {@link Database}, migrated when the store is made.
 * Desired rows carry a generation: every change names the generation it read, so two admins (or two nodes) never
 * overwrite each other's change unseen.
 */
final class PluginStateStore {
    /** The module this bundle's migrations are recorded under: its symbolic name. */
    static final String MODULE = "dev.parley.plugins";
    static final String MIGRATIONS = "db/migration/" + MODULE + "/";
    /** Oldest first; add new files here too. The versions were numbered when the store bundle migrated every table. */
    static final List<String> MIGRATION_FILES = List.of("V3__plugin_state.sql", "V9__plugin_uninstalled.sql",
            TenantProviderStore.MIGRATION, "V11__plugin_node_guard.sql");

    /** What the cluster should run for one plugin. {@code config}: PID → properties. */
    record Desired(String pluginId, String version, boolean enabled, String previousVersion,
            Map<String, Map<String, Object>> config, long generation, Instant updatedAt, String updatedBy) {

        Desired next(String newVersion, boolean newEnabled, String newPrevious,
                Map<String, Map<String, Object>> newConfig, Instant at, String by) {
            return new Desired(pluginId, newVersion, newEnabled, newPrevious, newConfig, generation + 1, at, by);
        }
    }

    record NodeStatus(String nodeId, String pluginId, String version, long generation, String state, String error,
            Instant updatedAt) {
    }

    record Event(long id, String pluginId, String nodeId, String action, String fromVersion, String toVersion,
            String outcome, String detail, Long durationMs, Instant createdAt) {
    }

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PluginStateStore.class);
    private static final TypeReference<Map<String, Map<String, Object>>> CONFIG_TYPE = new TypeReference<>() { };

    private final Database database;
    private final SecretSealer sealer;
    private final ObjectMapper json = new ObjectMapper();

    /**
     * @param sealer seals secret settings (keys starting with a dot) before they are stored, and opens them when read
     */
    PluginStateStore(Database database, SecretSealer sealer) {
        this.database = database;
        this.sealer = sealer;
        database.migrate(MODULE, PluginStateStore.class.getClassLoader(), MIGRATIONS, MIGRATION_FILES);
    }

    List<Desired> desired() {
        return query("SELECT * FROM plugin_desired ORDER BY plugin_id", ps -> { }, this::desired);
    }

    Optional<Desired> desired(String pluginId) {
        return query("SELECT * FROM plugin_desired WHERE plugin_id = ?", ps -> ps.setString(1, pluginId), this::desired)
                .stream().findFirst();
    }

    /**
     * Inserts (when {@code expectedGeneration} is 0) or replaces the row written at {@code expectedGeneration}.
     *
     * @throws ParleyException CONFLICT when someone else changed or created it first
     */
    void putDesired(Desired d, long expectedGeneration) {
        int rows = update(expectedGeneration == 0
                ? "INSERT INTO plugin_desired (version, enabled, previous_version, config, generation, updated_at, "
                        + "updated_by, plugin_id) SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS "
                        + "(SELECT 1 FROM plugin_desired WHERE plugin_id = ?)"
                : "UPDATE plugin_desired SET version = ?, enabled = ?, previous_version = ?, config = ?, generation = ?, "
                        + "updated_at = ?, updated_by = ? WHERE plugin_id = ? AND generation = ?",
                ps -> {
                    ps.setString(1, d.version());
                    ps.setBoolean(2, d.enabled());
                    ps.setString(3, d.previousVersion());
                    ps.setString(4, d.config() == null || d.config().isEmpty() ? null
                            : write(d.pluginId(), d.config()));
                    ps.setLong(5, d.generation());
                    ps.setObject(6, Sql.timestamp(d.updatedAt()));
                    ps.setString(7, d.updatedBy());
                    ps.setString(8, d.pluginId());
                    if (expectedGeneration == 0) {
                        ps.setString(9, d.pluginId());
                    } else {
                        ps.setLong(9, expectedGeneration);
                    }
                });
        if (rows != 1) {
            throw conflict(d.pluginId());
        }
    }

    /**
     * Inserts the desired row of a plugin the server ships, unless the plugin has a desired row already or was
     * uninstalled by an admin: one statement, so of nodes seeding at once exactly one inserts (the primary key
     * refuses the others).
     *
     * @return true if this call wrote the row
     */
    boolean claimShipped(Desired d) {
        return update("INSERT INTO plugin_desired (version, enabled, previous_version, config, generation, updated_at, "
                + "updated_by, plugin_id) SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS "
                + "(SELECT 1 FROM plugin_desired WHERE plugin_id = ?) AND NOT EXISTS "
                + "(SELECT 1 FROM plugin_uninstalled WHERE plugin_id = ?)", ps -> {
                    ps.setString(1, d.version());
                    ps.setBoolean(2, d.enabled());
                    ps.setString(3, d.previousVersion());
                    ps.setString(4, null);
                    ps.setLong(5, d.generation());
                    ps.setObject(6, Sql.timestamp(d.updatedAt()));
                    ps.setString(7, d.updatedBy());
                    ps.setString(8, d.pluginId());
                    ps.setString(9, d.pluginId());
                    ps.setString(10, d.pluginId());
                }) == 1;
    }

    /**
     * Removes the desired row written at {@code expectedGeneration} and remembers, in the same transaction, that the
     * plugin was uninstalled (so a shipped plugin is not installed again at the next start).
     *
     * @throws ParleyException CONFLICT when someone else changed or removed it first
     */
    void uninstall(String pluginId, long expectedGeneration, String version, String actor, Instant at) {
        database.inTransaction("write plugin state", c -> {
            int rows;
            try (PreparedStatement ps = c.prepareStatement(
                    "DELETE FROM plugin_desired WHERE plugin_id = ? AND generation = ?")) {
                ps.setString(1, pluginId);
                ps.setLong(2, expectedGeneration);
                rows = ps.executeUpdate();
            }
            if (rows != 1) {
                throw conflict(pluginId);
            }
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM plugin_uninstalled WHERE plugin_id = ?")) {
                ps.setString(1, pluginId);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO plugin_uninstalled "
                    + "(plugin_id, version, uninstalled_at, uninstalled_by) VALUES (?, ?, ?, ?)")) {
                ps.setString(1, pluginId);
                ps.setString(2, version);
                ps.setObject(3, Sql.timestamp(at));
                ps.setString(4, actor);
                ps.executeUpdate();
            }
            return null;
        });
    }

    /** Whether an admin uninstalled the plugin (and it has not been seeded since). */
    boolean uninstalled(String pluginId) {
        return !query("SELECT 1 FROM plugin_uninstalled WHERE plugin_id = ?", ps -> ps.setString(1, pluginId),
                rs -> true).isEmpty();
    }

    void putStatus(NodeStatus s) {
        // Both statements take the same values in the same order, so one binder serves them.
        Binder values = ps -> {
            ps.setString(1, s.version());
            ps.setLong(2, s.generation());
            ps.setString(3, s.state());
            ps.setString(4, s.error());
            ps.setObject(5, Sql.timestamp(s.updatedAt()));
            ps.setString(6, s.nodeId());
            ps.setString(7, s.pluginId());
        };
        // Only this node writes its own rows, so update-then-insert cannot race with another writer.
        int rows = update("UPDATE plugin_node_status SET version = ?, generation = ?, state = ?, error = ?, updated_at = ? "
                + "WHERE node_id = ? AND plugin_id = ?", values);
        if (rows == 0) {
            update("INSERT INTO plugin_node_status (version, generation, state, error, updated_at, node_id, plugin_id) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?)", values);
        }
    }

    void deleteStatus(String nodeId, String pluginId) {
        update("DELETE FROM plugin_node_status WHERE node_id = ? AND plugin_id = ?", ps -> {
            ps.setString(1, nodeId);
            ps.setString(2, pluginId);
        });
    }

    List<NodeStatus> statuses() {
        return query("SELECT * FROM plugin_node_status ORDER BY plugin_id, node_id", ps -> { }, rs -> new NodeStatus(
                rs.getString("node_id"), rs.getString("plugin_id"), rs.getString("version"), rs.getLong("generation"),
                rs.getString("state"), rs.getString("error"), Sql.instant(rs, "updated_at")));
    }

    void record(Event e) {
        update("INSERT INTO plugin_events (plugin_id, node_id, action, from_version, to_version, outcome, detail, "
                + "duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", ps -> {
                    ps.setString(1, e.pluginId());
                    ps.setString(2, e.nodeId());
                    ps.setString(3, e.action());
                    ps.setString(4, e.fromVersion());
                    ps.setString(5, e.toVersion());
                    ps.setString(6, e.outcome());
                    ps.setString(7, e.detail());
                    if (e.durationMs() == null) {
                        ps.setNull(8, java.sql.Types.BIGINT);
                    } else {
                        ps.setLong(8, e.durationMs());
                    }
                    ps.setObject(9, Sql.timestamp(e.createdAt()));
                });
    }

    /** The newest {@code limit} events of a plugin, newest first. */
    List<Event> events(String pluginId, int limit) {
        return query("SELECT * FROM plugin_events WHERE plugin_id = ? ORDER BY id DESC", ps -> {
            ps.setString(1, pluginId);
            ps.setMaxRows(limit);
        }, rs -> {
            long duration = rs.getLong("duration_ms");
            Long durationMs = rs.wasNull() ? null : duration; // wasNull() speaks of the column read last
            return new Event(rs.getLong("id"), rs.getString("plugin_id"), rs.getString("node_id"), rs.getString("action"),
                    rs.getString("from_version"), rs.getString("to_version"), rs.getString("outcome"), rs.getString("detail"),
                    durationMs, Sql.instant(rs, "created_at"));
        });
    }

    private Desired desired(ResultSet rs) throws SQLException {
        String config = rs.getString("config");
        return new Desired(rs.getString("plugin_id"), rs.getString("version"), rs.getBoolean("enabled"),
                rs.getString("previous_version"), config == null ? Map.of() : read(rs.getString("plugin_id"), config),
                rs.getLong("generation"),
                Sql.instant(rs, "updated_at"), rs.getString("updated_by"));
    }

    private static ParleyException conflict(String pluginId) {
        return new ParleyException(ErrorCode.CONFLICT,
                "plugin " + pluginId + " was changed by someone else meanwhile; reload its state and try again");
    }

    /**
     * Seals what is stored sealed again with the current master key, and seals secret settings stored in plain text
     * by builds before sealing existed. Each row is rewritten only if it is still as read (its generation does not
     * change: nothing about the plugin changed), so nodes doing this at once do not overwrite each other.
     *
     * @return how many rows were rewritten
     */
    int resealSecrets() {
        int rewritten = 0;
        for (String[] row : query("SELECT plugin_id, config FROM plugin_desired WHERE config IS NOT NULL", ps -> { },
                rs -> new String[] {rs.getString(1), rs.getString(2)})) {
            String pluginId = row[0];
            String stored = row[1];
            Map<String, Map<String, Object>> config;
            try {
                config = json.readValue(stored, CONFIG_TYPE);
            } catch (IOException e) {
                throw new ParleyException(ErrorCode.STORE_FAILURE, "Could not read the settings of plugin " + pluginId);
            }
            if (!needsSealing(config)) {
                continue;
            }
            String resealed;
            try {
                resealed = write(pluginId, open(pluginId, config, true));
            } catch (ParleyException e) {
                // A key this node lacks: leave the row as it is (a node that has the key seals it), go on with the rest.
                LOG.error("plugin secret settings not sealed again plugin={} reason=\"{}\"", pluginId, e.getMessage());
                continue;
            }
            rewritten += update("UPDATE plugin_desired SET config = ? WHERE plugin_id = ? AND config = ?", ps -> {
                ps.setString(1, resealed);
                ps.setString(2, pluginId);
                ps.setString(3, stored);
            });
        }
        return rewritten;
    }

    private boolean needsSealing(Map<String, Map<String, Object>> config) {
        for (Map<String, Object> props : config.values()) {
            for (Map.Entry<String, Object> e : props.entrySet()) {
                if (!secret(e.getKey())) {
                    continue;
                }
                for (Object v : values(e.getValue())) {
                    if (v instanceof String text && (!sealer.isSealed(text) || sealer.needsReseal(text))) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** Secret settings are the keys starting with a dot (Declarative Services keeps them out of service properties). */
    private static boolean secret(String key) {
        return key.startsWith(".");
    }

    private static List<?> values(Object value) {
        return value instanceof List<?> list ? list : java.util.Collections.singletonList(value);
    }

    /** What a secret setting is bound to: a value sealed for one plugin's setting does not open for another. */
    private static String purpose(String pluginId, String pid, String key) {
        return "plugin:" + pluginId + ":" + pid + ":" + key;
    }

    private String write(String pluginId, Map<String, Map<String, Object>> config) {
        Map<String, Map<String, Object>> sealed = mapSecrets(pluginId, config,
                (purpose, text) -> sealer.isSealed(text) ? text : sealer.seal(text, purpose), null);
        try {
            return json.writeValueAsString(sealed);
        } catch (IOException e) {
            throw new ParleyException(ErrorCode.INTERNAL, "cannot serialise plugin configuration", e);
        }
    }

    private Map<String, Map<String, Object>> read(String pluginId, String config) throws SQLException {
        Map<String, Map<String, Object>> stored;
        try {
            stored = json.readValue(config, CONFIG_TYPE);
        } catch (IOException e) {
            throw new SQLException("unreadable plugin configuration", e);
        }
        return open(pluginId, stored, false);
    }

    /**
     * The settings with their secrets opened; secrets stored in plain text by earlier builds are read as they are. A
     * secret this node cannot open (sealed with a key it lacks, or damaged) is left out of what is returned, with an
     * ERROR line, unless {@code strict}: one plugin's unreadable secret must not stop the others.
     */
    private Map<String, Map<String, Object>> open(String pluginId, Map<String, Map<String, Object>> stored,
            boolean strict) {
        return mapSecrets(pluginId, stored, (purpose, text) -> sealer.isSealed(text) ? sealer.open(text, purpose) : text,
                strict ? null : (pid, key, e) -> LOG.error("plugin secret setting left out plugin={} pid={} key={} "
                        + "reason=\"{}\"", pluginId, pid, key, e.getMessage()));
    }

    @FunctionalInterface
    private interface SecretText {
        String apply(String purpose, String text);
    }

    @FunctionalInterface
    private interface SecretFailure {
        void leftOut(String pid, String key, ParleyException e);
    }

    /**
     * A copy of {@code config} whose secret settings' strings (a string, or each string of a list) went through
     * {@code f}, bound to their purpose; a secret of another type (a number) is kept as it is. When {@code f} fails
     * for a setting, {@code failed} is told and the setting left out, or, when {@code failed} is null, the failure is
     * thrown.
     */
    private static Map<String, Map<String, Object>> mapSecrets(String pluginId, Map<String, Map<String, Object>> config,
            SecretText f, SecretFailure failed) {
        Map<String, Map<String, Object>> result = new LinkedHashMap<>();
        config.forEach((pid, props) -> {
            Map<String, Object> out = new LinkedHashMap<>();
            props.forEach((key, value) -> {
                if (!secret(key)) {
                    out.put(key, value);
                    return;
                }
                String purpose = purpose(pluginId, pid, key);
                try {
                    out.put(key, mapStrings(value, text -> f.apply(purpose, text)));
                } catch (ParleyException e) {
                    if (failed == null) {
                        throw e;
                    }
                    failed.leftOut(pid, key, e);
                }
            });
            result.put(pid, out);
        });
        return result;
    }

    private static Object mapStrings(Object value, java.util.function.UnaryOperator<String> f) {
        if (value instanceof String text) {
            return f.apply(text);
        }
        if (value instanceof List<?> list) {
            return list.stream().map(v -> mapStrings(v, f)).toList();
        }
        if (value instanceof String[] array) {
            return java.util.Arrays.stream(array).map(f).toList();
        }
        return value;
    }

    private interface Binder {
        void bind(PreparedStatement ps) throws SQLException;
    }

    private interface Mapper<T> {
        T map(ResultSet rs) throws SQLException;
    }

    private <T> List<T> query(String sql, Binder binder, Mapper<T> mapper) {
        return database.inTransaction("read plugin state", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                binder.bind(ps);
                List<T> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(mapper.map(rs));
                    }
                }
                return out;
            }
        });
    }

    private int update(String sql, Binder binder) {
        return database.inTransaction("write plugin state", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                binder.bind(ps);
                return ps.executeUpdate();
            } catch (SQLException e) {
                if (Sql.isUniqueViolation(e)) {
                    c.rollback();
                    return 0; // a concurrent insert won
                }
                throw e;
            }
        });
    }
}
