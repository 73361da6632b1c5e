package dev.parley.store.jdbc.internal;

import dev.parley.api.usage.UsageAttempt;
import dev.parley.api.usage.UsageOutcome;
import dev.parley.api.usage.UsagePage;
import dev.parley.api.usage.UsageQuery;
import dev.parley.api.usage.UsageRecord;
import dev.parley.api.usage.UsageStore;
import dev.parley.api.usage.UsageTotals;
import dev.parley.db.Database;
import dev.parley.db.Sql;
import dev.parley.db.SqlWork;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@link UsageStore} on the tables of this bundle's migrations V7, V11 and V13 ({@code usage_records},
 * {@code usage_attempts}), in Parley's {@link Database}.
 */
@Component(service = UsageStore.class)
public final class JdbcUsageStore implements UsageStore {
    private static final String COLUMNS = "id, created_at, tenant_id, user_id, endpoint, conversation_id, message_id, "
            + "requested_model, provider_id, model, outcome, error_code, prompt_tokens, completion_tokens, "
            + "cached_prompt_tokens, cost_usd, latency_ms, ttft_ms, cut";

    private final Database database;

    @Activate
    public JdbcUsageStore(@Reference Database database) {
        this.database = database;
        StoreSchema.migrate(database);
    }

    @Override
    public void recordAll(List<UsageRecord> records) {
        if (records.isEmpty()) {
            return;
        }
        database.inTransaction("store usage records", c -> {
            List<UsageRecord> inserted;
            try {
                inserted = insertRecords(c, records, false);
            } catch (SQLException e) {
                if (!Sql.isUniqueViolation(e)) {
                    throw e;
                }
                // A batch tried again after an unclear failure (its commit may have happened): skip what is stored.
                c.rollback();
                inserted = insertRecords(c, records, true);
            }
            insertAttempts(c, inserted);
            return null;
        });
    }

    /**
     * Inserts the records; with {@code skipStored} a record whose id is already stored is left out (one more index
     * lookup per row, so only for a batch that met a duplicate). Returns the records inserted.
     */
    private static List<UsageRecord> insertRecords(Connection c, List<UsageRecord> records, boolean skipStored)
            throws SQLException {
        String values = "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?";
        String sql = "INSERT INTO usage_records (" + COLUMNS + ", single_attempt_ms) " + (skipStored
                ? "SELECT " + values + " WHERE NOT EXISTS (SELECT 1 FROM usage_records WHERE id = ?)"
                : "VALUES (" + values + ")");
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (UsageRecord r : records) {
                bind(ps, r);
                UsageAttempt single = singleAttempt(r);
                if (single == null) {
                    ps.setNull(20, Types.BIGINT);
                } else {
                    ps.setLong(20, single.durationMs());
                }
                if (skipStored) {
                    ps.setString(21, r.id());
                }
                ps.addBatch();
            }
            int[] counts = ps.executeBatch();
            if (!skipStored) {
                return records;
            }
            List<UsageRecord> inserted = new ArrayList<>();
            for (int i = 0; i < counts.length; i++) {
                // Drivers may answer SUCCESS_NO_INFO (-2) for a batch; then the insert did happen or fail loudly.
                if (counts[i] != 0) {
                    inserted.add(records.get(i));
                }
            }
            return inserted;
        }
    }

    /** Rows of usage_attempts for the records whose attempts the record row alone does not hold. */
    private static void insertAttempts(Connection c, List<UsageRecord> inserted) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO usage_attempts (record_id, seq, provider_id, "
                + "model, error_code, duration_ms) VALUES (?, ?, ?, ?, ?, ?)")) {
            boolean any = false;
            for (UsageRecord r : inserted) {
                if (singleAttempt(r) != null) {
                    continue;
                }
                for (int seq = 0; seq < r.attempts().size(); seq++) {
                    UsageAttempt a = r.attempts().get(seq);
                    ps.setString(1, r.id());
                    ps.setInt(2, seq);
                    ps.setString(3, a.providerId());
                    ps.setString(4, a.model());
                    ps.setString(5, a.errorCode());
                    ps.setLong(6, a.durationMs());
                    ps.addBatch();
                    any = true;
                }
            }
            if (any) {
                ps.executeBatch();
            }
        }
    }

    /**
     * The record's only attempt when the record row says all of it but its duration (same provider, model and error
     * code): stored as {@code single_attempt_ms}, without a usage_attempts row. Null otherwise.
     */
    private static UsageAttempt singleAttempt(UsageRecord r) {
        if (r.attempts().size() != 1) {
            return null;
        }
        UsageAttempt a = r.attempts().get(0);
        return a.providerId().equals(r.providerId()) && a.model().equals(r.model())
                && Objects.equals(a.errorCode(), r.errorCode()) ? a : null;
    }

    @Override
    public UsagePage find(UsageQuery q) {
        // One tenant's usage in a tenant transaction: on PostgreSQL row-level security checks the filter again.
        SqlWork<UsagePage> work = c -> {
            List<Object> params = new ArrayList<>();
            String where = where(q, params);
            UsageTotals totals;
            long total;
            try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0), "
                    + "COALESCE(SUM(completion_tokens), 0), COALESCE(SUM(cached_prompt_tokens), 0), SUM(cost_usd) "
                    + "FROM usage_records" + where)) {
                set(ps, params);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    total = rs.getLong(1);
                    BigDecimal cost = rs.getBigDecimal(5);
                    totals = new UsageTotals(total, rs.getLong(2), rs.getLong(3), rs.getLong(4),
                            cost == null ? BigDecimal.ZERO : cost.stripTrailingZeros());
                }
            }
            List<UsageRecord> items = new ArrayList<>();
            if (total > q.offset()) {
                try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + ", single_attempt_ms FROM usage_records" + where
                        + " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?")) {
                    set(ps, params);
                    ps.setInt(params.size() + 1, q.limit());
                    ps.setInt(params.size() + 2, q.offset());
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            long single = rs.getLong("single_attempt_ms");
                            items.add(rs.wasNull() ? record(rs, List.of()) : record(rs, List.of(new UsageAttempt(
                                    rs.getString("provider_id"), rs.getString("model"), rs.getString("error_code"),
                                    single))));
                        }
                    }
                }
                items = withAttempts(c, items);
            }
            return new UsagePage(items, q.offset(), q.limit(), total, totals);
        };
        return q.tenantId() == null ? database.inTransaction("read usage records", work)
                : database.inTenantTransaction(q.tenantId(), "read usage records", work);
    }

    private static String where(UsageQuery q, List<Object> params) {
        List<String> clauses = new ArrayList<>();
        if (q.tenantId() != null) {
            clauses.add("tenant_id = ?");
            params.add(q.tenantId());
        }
        if (q.model() != null) {
            clauses.add("(requested_model = ? OR model = ?)");
            params.add(q.model());
            params.add(q.model());
        }
        if (q.providerId() != null) {
            clauses.add("provider_id = ?");
            params.add(q.providerId());
        }
        if (q.conversationId() != null) {
            clauses.add("conversation_id = ?");
            params.add(q.conversationId());
        }
        if (q.from() != null) {
            clauses.add("created_at >= ?");
            params.add(Sql.timestamp(q.from()));
        }
        if (q.to() != null) {
            clauses.add("created_at < ?");
            params.add(Sql.timestamp(q.to()));
        }
        return clauses.isEmpty() ? "" : " WHERE " + String.join(" AND ", clauses);
    }

    /** The records with their attempts from usage_attempts, where the record row did not hold its only one. */
    private static List<UsageRecord> withAttempts(Connection c, List<UsageRecord> items) throws SQLException {
        List<UsageRecord> stored = new ArrayList<>();
        for (UsageRecord r : items) {
            if (r.attempts().isEmpty()) {
                stored.add(r);
            }
        }
        if (stored.isEmpty()) {
            return items;
        }
        Map<String, List<UsageAttempt>> attempts = new HashMap<>();
        StringBuilder in = new StringBuilder();
        for (int i = 0; i < stored.size(); i++) {
            in.append(i == 0 ? "?" : ", ?");
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT record_id, provider_id, model, error_code, duration_ms "
                + "FROM usage_attempts WHERE record_id IN (" + in + ") ORDER BY record_id, seq")) {
            for (int i = 0; i < stored.size(); i++) {
                ps.setString(i + 1, stored.get(i).id());
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    attempts.computeIfAbsent(rs.getString(1), k -> new ArrayList<>()).add(new UsageAttempt(
                            rs.getString(2), rs.getString(3), rs.getString(4), rs.getLong(5)));
                }
            }
        }
        List<UsageRecord> out = new ArrayList<>(items.size());
        for (UsageRecord r : items) {
            if (!r.attempts().isEmpty()) {
                out.add(r);
                continue;
            }
            out.add(new UsageRecord(r.id(), r.createdAt(), r.tenantId(), r.userId(), r.endpoint(), r.conversationId(),
                    r.messageId(), r.requestedModel(), r.providerId(), r.model(), r.outcome(), r.errorCode(),
                    attempts.getOrDefault(r.id(), List.of()), r.promptTokens(), r.completionTokens(),
                    r.cachedPromptTokens(), r.costUsd(), r.latencyMs(), r.timeToFirstTokenMs(), r.cut()));
        }
        return out;
    }

    private static void bind(PreparedStatement ps, UsageRecord r) throws SQLException {
        ps.setString(1, r.id());
        ps.setObject(2, Sql.timestamp(r.createdAt()));
        ps.setString(3, r.tenantId());
        ps.setString(4, r.userId());
        ps.setString(5, r.endpoint());
        ps.setString(6, r.conversationId());
        ps.setString(7, r.messageId());
        ps.setString(8, r.requestedModel());
        ps.setString(9, r.providerId());
        ps.setString(10, r.model());
        ps.setString(11, r.outcome().name());
        ps.setString(12, r.errorCode());
        ps.setInt(13, r.promptTokens());
        ps.setInt(14, r.completionTokens());
        ps.setInt(15, r.cachedPromptTokens());
        if (r.costUsd() == null) {
            ps.setNull(16, Types.NUMERIC);
        } else {
            ps.setBigDecimal(16, r.costUsd());
        }
        ps.setLong(17, r.latencyMs());
        if (r.timeToFirstTokenMs() == null) {
            ps.setNull(18, Types.BIGINT);
        } else {
            ps.setLong(18, r.timeToFirstTokenMs());
        }
        ps.setBoolean(19, r.cut());
    }

    private static UsageRecord record(ResultSet rs, List<UsageAttempt> attempts) throws SQLException {
        BigDecimal cost = rs.getBigDecimal("cost_usd");
        long ttft = rs.getLong("ttft_ms");
        Long ttftMs = rs.wasNull() ? null : ttft;
        return new UsageRecord(rs.getString("id"), Sql.instant(rs, "created_at"),
                rs.getString("tenant_id"), rs.getString("user_id"), rs.getString("endpoint"),
                rs.getString("conversation_id"), rs.getString("message_id"), rs.getString("requested_model"),
                rs.getString("provider_id"), rs.getString("model"), UsageOutcome.valueOf(rs.getString("outcome")),
                rs.getString("error_code"), attempts, rs.getInt("prompt_tokens"), rs.getInt("completion_tokens"),
                rs.getInt("cached_prompt_tokens"), cost == null ? null : cost.stripTrailingZeros(),
                rs.getLong("latency_ms"), ttftMs, rs.getBoolean("cut"));
    }

    private static void set(PreparedStatement ps, List<Object> params) throws SQLException {
        for (int i = 0; i < params.size(); i++) {
            ps.setObject(i + 1, params.get(i));
        }
    }
}
