package dev.parley.plugins.internal;

import dev.parley.db.Database;
import dev.parley.db.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The table {@code plugin_node_guard} (migration V11): per node and plugin, the start attempt in progress, the starts
 * in a row that failed or ended with the process, and a hold that keeps the plugin stopped on that node. Every change
 * is one statement or one transaction, so a process that dies between two of them leaves a row that is still true.
 */
final class PluginStartStore {
    /** A hold's kinds, as stored and as the node status shows them. */
    static final String CRASH_LOOP = "crash-loop";
    static final String QUARANTINED = "quarantined";

    /** One row. {@code attemptId} is null when no start is in progress. */
    record Row(String nodeId, String pluginId, String version, String attemptId, String attemptProcess,
            Instant attemptAt, int failedStarts, String lastFailure, String hold, String holdReason, Instant heldAt,
            Instant updatedAt) {
        boolean held() {
            return hold != null;
        }

        boolean attemptOpen() {
            return attemptId != null;
        }
    }

    private final Database database;

    PluginStartStore(Database database) {
        this.database = database;
    }

    Optional<Row> row(String nodeId, String pluginId) {
        return query("SELECT * FROM plugin_node_guard WHERE node_id = ? AND plugin_id = ?", ps -> {
            ps.setString(1, nodeId);
            ps.setString(2, pluginId);
        }).stream().findFirst();
    }

    List<Row> rows(String nodeId) {
        return query("SELECT * FROM plugin_node_guard WHERE node_id = ? ORDER BY plugin_id", ps -> ps.setString(1, nodeId));
    }

    /** Every node's row of one plugin. */
    List<Row> rowsOf(String pluginId) {
        return query("SELECT * FROM plugin_node_guard WHERE plugin_id = ? ORDER BY node_id", ps -> ps.setString(1, pluginId));
    }

    /** Every row. */
    List<Row> all() {
        return query("SELECT * FROM plugin_node_guard ORDER BY plugin_id, node_id", ps -> { });
    }

    /** Every row with a hold, on every node. */
    List<Row> held() {
        return query("SELECT * FROM plugin_node_guard WHERE hold IS NOT NULL ORDER BY plugin_id, node_id", ps -> { });
    }

    /** Records that a start of {@code pluginId} begins now on this node (committed before the start runs). */
    void openAttempt(String nodeId, String pluginId, String version, String attemptId, String process, Instant at) {
        database.inTransaction("record a plugin start", c -> {
            ensureRow(c, nodeId, pluginId, at);
            try (PreparedStatement ps = c.prepareStatement("UPDATE plugin_node_guard SET version = ?, attempt_id = ?, "
                    + "attempt_process = ?, attempt_at = ?, updated_at = ? WHERE node_id = ? AND plugin_id = ?")) {
                ps.setString(1, version);
                ps.setString(2, attemptId);
                ps.setString(3, process);
                ps.setObject(4, Sql.timestamp(at));
                ps.setObject(5, Sql.timestamp(at));
                ps.setString(6, nodeId);
                ps.setString(7, pluginId);
                ps.executeUpdate();
            }
            return null;
        });
    }

    /**
     * Closes the attempt {@code attemptId} (only that one) as healthy: the plugin ran for its probation time, so the
     * count of failed starts starts over.
     *
     * @return whether that attempt was still open
     */
    boolean closeHealthy(String nodeId, String pluginId, String attemptId, Instant at) {
        return update("UPDATE plugin_node_guard SET attempt_id = NULL, attempt_process = NULL, attempt_at = NULL, "
                + "failed_starts = 0, last_failure = NULL, updated_at = ? WHERE node_id = ? AND plugin_id = ? "
                + "AND attempt_id = ?", ps -> {
                    ps.setObject(1, Sql.timestamp(at));
                    ps.setString(2, nodeId);
                    ps.setString(3, pluginId);
                    ps.setString(4, attemptId);
                }) == 1;
    }

    /** Closes the attempt without a verdict: the server was stopped on purpose before its probation ended. */
    boolean closeUnjudged(String nodeId, String pluginId, String attemptId, Instant at) {
        return update("UPDATE plugin_node_guard SET attempt_id = NULL, attempt_process = NULL, attempt_at = NULL, "
                + "updated_at = ? WHERE node_id = ? AND plugin_id = ? AND attempt_id = ?", ps -> {
                    ps.setObject(1, Sql.timestamp(at));
                    ps.setString(2, nodeId);
                    ps.setString(3, pluginId);
                    ps.setString(4, attemptId);
                }) == 1;
    }

    /**
     * Counts one failed (or crashed) start of {@code pluginId} on this node, closing the attempt {@code attemptId}
     * (null: whatever attempt is open), and holds it as {@value #CRASH_LOOP} once {@code maxFailedStarts} are reached.
     *
     * @return the row as it is now
     */
    Row failed(String nodeId, String pluginId, String attemptId, String failure, int maxFailedStarts, Instant at) {
        return database.inTransaction("record a failed plugin start", c -> {
            ensureRow(c, nodeId, pluginId, at);
            try (PreparedStatement ps = c.prepareStatement("UPDATE plugin_node_guard SET attempt_id = NULL, "
                    + "attempt_process = NULL, attempt_at = NULL, failed_starts = failed_starts + 1, last_failure = ?, "
                    + "updated_at = ? WHERE node_id = ? AND plugin_id = ?"
                    + (attemptId == null ? "" : " AND attempt_id = ?"))) {
                ps.setString(1, failure);
                ps.setObject(2, Sql.timestamp(at));
                ps.setString(3, nodeId);
                ps.setString(4, pluginId);
                if (attemptId != null) {
                    ps.setString(5, attemptId);
                }
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("UPDATE plugin_node_guard SET hold = ?, hold_reason = ?, "
                    + "held_at = ? WHERE node_id = ? AND plugin_id = ? AND hold IS NULL AND failed_starts >= ?")) {
                ps.setString(1, CRASH_LOOP);
                ps.setString(2, "disabled on this node after " + maxFailedStarts + " starts in a row that failed or "
                        + "ended with the server; the last: " + failure);
                ps.setObject(3, Sql.timestamp(at));
                ps.setString(4, nodeId);
                ps.setString(5, pluginId);
                ps.setInt(6, maxFailedStarts);
                ps.executeUpdate();
            }
            return read(c, nodeId, pluginId).orElseThrow();
        });
    }

    /** Holds {@code pluginId} on this node with {@code kind} and {@code reason} (a hold already there stays). */
    void hold(String nodeId, String pluginId, String version, String kind, String reason, Instant at) {
        database.inTransaction("hold a plugin", c -> {
            ensureRow(c, nodeId, pluginId, at);
            try (PreparedStatement ps = c.prepareStatement("UPDATE plugin_node_guard SET hold = ?, hold_reason = ?, "
                    + "held_at = ?, version = COALESCE(?, version), updated_at = ? WHERE node_id = ? AND plugin_id = ? "
                    + "AND hold IS NULL")) {
                ps.setString(1, kind);
                ps.setString(2, reason);
                ps.setObject(3, Sql.timestamp(at));
                ps.setString(4, version);
                ps.setObject(5, Sql.timestamp(at));
                ps.setString(6, nodeId);
                ps.setString(7, pluginId);
                ps.executeUpdate();
            }
            return null;
        });
    }

    /** An admin's enable, upgrade or install: every node's hold of the plugin is lifted and its count starts over. */
    int clearHolds(String pluginId, Instant at) {
        return update("UPDATE plugin_node_guard SET hold = NULL, hold_reason = NULL, held_at = NULL, failed_starts = 0, "
                + "last_failure = NULL, updated_at = ? WHERE plugin_id = ?", ps -> {
                    ps.setObject(1, Sql.timestamp(at));
                    ps.setString(2, pluginId);
                });
    }

    /** Uninstalled: every node's row of the plugin goes. */
    void delete(String pluginId) {
        update("DELETE FROM plugin_node_guard WHERE plugin_id = ?", ps -> ps.setString(1, pluginId));
    }

    private static void ensureRow(Connection c, String nodeId, String pluginId, Instant at) throws SQLException {
        if (read(c, nodeId, pluginId).isPresent()) {
            return;
        }
        // Only this node inserts its own rows, so nothing races this insert but an admin's delete (harmless).
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO plugin_node_guard (node_id, plugin_id, "
                + "failed_starts, updated_at) VALUES (?, ?, 0, ?)")) {
            ps.setString(1, nodeId);
            ps.setString(2, pluginId);
            ps.setObject(3, Sql.timestamp(at));
            ps.executeUpdate();
        }
    }

    private static Optional<Row> read(Connection c, String nodeId, String pluginId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT * FROM plugin_node_guard WHERE node_id = ? AND plugin_id = ?")) {
            ps.setString(1, nodeId);
            ps.setString(2, pluginId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(row(rs)) : Optional.empty();
            }
        }
    }

    private static Row row(ResultSet rs) throws SQLException {
        return new Row(rs.getString("node_id"), rs.getString("plugin_id"), rs.getString("version"),
                rs.getString("attempt_id"), rs.getString("attempt_process"), Sql.instant(rs, "attempt_at"),
                rs.getInt("failed_starts"), rs.getString("last_failure"), rs.getString("hold"),
                rs.getString("hold_reason"), Sql.instant(rs, "held_at"), Sql.instant(rs, "updated_at"));
    }

    private interface Binder {
        void bind(PreparedStatement ps) throws SQLException;
    }

    private List<Row> query(String sql, Binder binder) {
        return database.inTransaction("read plugin start records", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                binder.bind(ps);
                List<Row> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(row(rs));
                    }
                }
                return out;
            }
        });
    }

    private int update(String sql, Binder binder) {
        return database.inTransaction("write plugin start records", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                binder.bind(ps);
                return ps.executeUpdate();
            }
        });
    }
}
