package dev.parley.audit.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.audit.AuditEvent;
import dev.parley.db.Database;
import dev.parley.db.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The {@code parley_audit} table (this bundle's migrations), in Parley's {@link Database}. It inserts and, for the
 * retention purge, deletes old rows in batches; it has no UPDATE and no DELETE of a single row. Values are fitted to
 * their columns before they are written (cut to length, NUL characters removed), so no event can make a batch fail
 * for ever and hold up the ones behind it.
 */
final class AuditTable {
    static final String MODULE = "dev.parley.audit";
    static final String POSTGRESQL_MODULE = "dev.parley.audit.postgresql";
    static final int ACTOR_MAX = 200;
    static final int TENANT_MAX = 200;
    static final int ACTION_MAX = 100;
    static final int TARGET_MAX = 400;
    static final int SOURCE_MAX = 64;
    static final int DETAIL_MAX = 8000;
    static final int DETAIL_VALUE_MAX = 1000;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<Map<String, String>> DETAIL = new TypeReference<>() {
    };

    private final Database database;

    AuditTable(Database database) {
        this.database = database;
    }

    /**
     * Creates or updates the table; on PostgreSQL also the trigger that refuses any UPDATE (a module of its own, so
     * H2 databases record only the portable part).
     */
    void migrate() {
        database.migrate(MODULE, AuditTable.class.getClassLoader(), "db/migration/" + MODULE + "/",
                List.of("V1__audit.sql"));
        if ("postgresql".equals(database.dialect())) {
            database.migrate(POSTGRESQL_MODULE, AuditTable.class.getClassLoader(),
                    "db/migration/" + POSTGRESQL_MODULE + "/", List.of("V1__audit_refuses_update.sql"));
        }
    }

    /** Stores {@code rows} in one transaction; rows already stored (a batch tried again) are skipped. */
    void insert(List<AuditRow> rows) {
        if (rows.isEmpty()) {
            return;
        }
        database.inTransaction("store audit events", c -> {
            try {
                insert(c, rows, false);
            } catch (SQLException e) {
                if (!Sql.isUniqueViolation(e)) {
                    throw e;
                }
                // Tried again after an unclear failure (its commit may have happened): skip what is stored.
                c.rollback();
                insert(c, rows, true);
            }
            return null;
        });
    }

    private static void insert(Connection c, List<AuditRow> rows, boolean skipStored) throws SQLException {
        String values = "?, ?, ?, ?, ?, ?, ?, ?, ?";
        String sql = "INSERT INTO parley_audit (" + AuditQuery.COLUMNS + ") " + (skipStored
                ? "SELECT " + values + " WHERE NOT EXISTS (SELECT 1 FROM parley_audit WHERE id = ?)"
                : "VALUES (" + values + ")");
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (AuditRow row : rows) {
                AuditEvent e = row.event();
                ps.setString(1, row.id());
                ps.setObject(2, Sql.timestamp(e.at()));
                ps.setString(3, fit(e.actor(), ACTOR_MAX));
                ps.setString(4, fit(e.tenantId(), TENANT_MAX));
                ps.setString(5, fit(e.action(), ACTION_MAX));
                ps.setString(6, fit(e.target(), TARGET_MAX));
                ps.setString(7, e.outcome().name());
                ps.setString(8, fit(e.sourceAddress(), SOURCE_MAX));
                ps.setString(9, detailJson(e.detail()));
                if (skipStored) {
                    ps.setString(10, row.id());
                }
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /** A page of rows for {@code query}. */
    AuditPage find(AuditQuery query) {
        return database.inTransaction("read the audit trail", c -> {
            List<Object> params = new ArrayList<>();
            String sql = query.sql(params);
            List<AuditEntry> rows = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                for (int i = 0; i < params.size(); i++) {
                    ps.setObject(i + 1, params.get(i));
                }
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows.add(new AuditEntry(rs.getString(1), Sql.instant(rs, 2), rs.getString(3),
                                rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8),
                                detail(rs.getString(9))));
                    }
                }
            }
            if (rows.size() <= query.limit()) {
                return new AuditPage(rows, null);
            }
            List<AuditEntry> page = rows.subList(0, query.limit());
            return new AuditPage(List.copyOf(page), AuditCursor.after(page.get(page.size() - 1).id()));
        });
    }

    /**
     * Deletes at most {@code limit} rows recorded before {@code cutoff} (oldest first), in one transaction; returns
     * how many. The only removal the application makes.
     */
    int purge(Instant cutoff, int limit) {
        return database.inTransaction("purge old audit events", c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM parley_audit WHERE id IN (SELECT id FROM "
                    + "parley_audit WHERE at < ? ORDER BY at LIMIT ?)")) {
                ps.setObject(1, Sql.timestamp(cutoff));
                ps.setInt(2, limit);
                return ps.executeUpdate();
            }
        });
    }

    /** {@code value} without NUL characters (PostgreSQL refuses them in text), cut to {@code max} characters. */
    static String fit(String value, int max) {
        String s = value.indexOf('\0') >= 0 ? value.replace("\0", "") : value;
        if (s.length() <= max) {
            return s;
        }
        int end = max;
        if (Character.isHighSurrogate(s.charAt(end - 1))) {
            end--; // never cut a pair in two
        }
        return s.substring(0, end);
    }

    /**
     * The detail as a JSON object of strings, keys sorted; values cut to {@value #DETAIL_VALUE_MAX} characters, and
     * entries left out (with {@code "truncated": "true"}) where the whole would not fit the column.
     */
    static String detailJson(Map<String, String> detail) {
        try {
            Map<String, String> out = new LinkedHashMap<>();
            int length = 2; // {}
            boolean truncated = false;
            for (var e : new TreeMap<>(detail).entrySet()) {
                String key = fit(e.getKey(), 100);
                String value = fit(e.getValue() == null ? "" : e.getValue(), DETAIL_VALUE_MAX);
                // "key":"value", with the escapes JSON needs
                int entry = JSON.writeValueAsString(key).length() + JSON.writeValueAsString(value).length() + 2;
                if (length + entry > DETAIL_MAX - 40) { // room for "truncated":"true"
                    truncated = true;
                    continue;
                }
                out.put(key, value);
                length += entry;
            }
            if (truncated) {
                out.put("truncated", "true");
            }
            return JSON.writeValueAsString(out);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a map of strings is always JSON", e);
        }
    }

    static Map<String, String> detail(String json) {
        try {
            return json == null || json.isEmpty() ? Map.of() : JSON.readValue(json, DETAIL);
        } catch (JsonProcessingException e) {
            return Map.of("unreadable", "true");
        }
    }
}
