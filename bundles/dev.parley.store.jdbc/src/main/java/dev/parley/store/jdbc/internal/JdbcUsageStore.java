package dev.parley.store.jdbc.internal;

import dev.parley.api.usage.UsageAttempt;
import dev.parley.api.usage.UsageOutcome;
import dev.parley.api.usage.UsagePage;
import dev.parley.api.usage.UsageQuery;
import dev.parley.api.usage.UsageRecord;
import dev.parley.api.usage.UsageStore;
import dev.parley.api.usage.UsageTotals;
import dev.parley.store.jdbc.internal.Transactions.SqlWork;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link UsageStore} on the tables of migration V7 ({@code usage_records}, {@code usage_attempts}), in the database
 * and pool the conversation store opened and shares as the {@code parley} {@link DataSource}.
 */
@Component(service = UsageStore.class)
public final class JdbcUsageStore implements UsageStore {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcUsageStore.class);
    private static final String COLUMNS = "id, created_at, tenant_id, user_id, endpoint, conversation_id, message_id, "
            + "requested_model, provider_id, model, outcome, error_code, prompt_tokens, completion_tokens, "
            + "cached_prompt_tokens, cost_usd, latency_ms, ttft_ms";

    private final DataSource dataSource;

    @Activate
    public JdbcUsageStore(@Reference(target = "(parley.datasource=parley)") DataSource dataSource) {
        this.dataSource = dataSource;
    }

    @Override
    public void recordAll(List<UsageRecord> records) {
        if (records.isEmpty()) {
            return;
        }
        inTransaction("store usage records", c -> {
            List<UsageRecord> inserted = new ArrayList<>();
            // Skips ids already stored, so a batch retried after an unclear failure is not counted twice.
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO usage_records (" + COLUMNS + ") SELECT ?, ?, ?, "
                    + "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM usage_records WHERE id = ?)")) {
                for (UsageRecord r : records) {
                    bind(ps, r);
                    ps.setString(19, r.id());
                    ps.addBatch();
                }
                int[] counts = ps.executeBatch();
                for (int i = 0; i < counts.length; i++) {
                    // Drivers may answer SUCCESS_NO_INFO (-2) for a batch; then the insert did happen or fail loudly.
                    if (counts[i] != 0) {
                        inserted.add(records.get(i));
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO usage_attempts (record_id, seq, provider_id, "
                    + "model, error_code, duration_ms) VALUES (?, ?, ?, ?, ?, ?)")) {
                boolean any = false;
                for (UsageRecord r : inserted) {
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
            return null;
        });
    }

    @Override
    public UsagePage find(UsageQuery q) {
        return inTransaction("read usage records", c -> {
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
                try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM usage_records" + where
                        + " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?")) {
                    set(ps, params);
                    ps.setInt(params.size() + 1, q.limit());
                    ps.setInt(params.size() + 2, q.offset());
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            items.add(record(rs, List.of()));
                        }
                    }
                }
                items = withAttempts(c, items);
            }
            return new UsagePage(items, q.offset(), q.limit(), total, totals);
        });
    }

    private static String where(UsageQuery q, List<Object> params) {
        List<String> clauses = new ArrayList<>();
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
            params.add(timestamp(q.from()));
        }
        if (q.to() != null) {
            clauses.add("created_at < ?");
            params.add(timestamp(q.to()));
        }
        return clauses.isEmpty() ? "" : " WHERE " + String.join(" AND ", clauses);
    }

    private static List<UsageRecord> withAttempts(Connection c, List<UsageRecord> items) throws SQLException {
        if (items.isEmpty()) {
            return items;
        }
        Map<String, List<UsageAttempt>> attempts = new HashMap<>();
        StringBuilder in = new StringBuilder();
        for (int i = 0; i < items.size(); i++) {
            in.append(i == 0 ? "?" : ", ?");
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT record_id, provider_id, model, error_code, duration_ms "
                + "FROM usage_attempts WHERE record_id IN (" + in + ") ORDER BY record_id, seq")) {
            for (int i = 0; i < items.size(); i++) {
                ps.setString(i + 1, items.get(i).id());
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
            out.add(new UsageRecord(r.id(), r.createdAt(), r.tenantId(), r.userId(), r.endpoint(), r.conversationId(),
                    r.messageId(), r.requestedModel(), r.providerId(), r.model(), r.outcome(), r.errorCode(),
                    attempts.getOrDefault(r.id(), List.of()), r.promptTokens(), r.completionTokens(),
                    r.cachedPromptTokens(), r.costUsd(), r.latencyMs(), r.timeToFirstTokenMs()));
        }
        return out;
    }

    private static void bind(PreparedStatement ps, UsageRecord r) throws SQLException {
        ps.setString(1, r.id());
        ps.setObject(2, timestamp(r.createdAt()));
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
    }

    private static UsageRecord record(ResultSet rs, List<UsageAttempt> attempts) throws SQLException {
        BigDecimal cost = rs.getBigDecimal("cost_usd");
        long ttft = rs.getLong("ttft_ms");
        Long ttftMs = rs.wasNull() ? null : ttft;
        return new UsageRecord(rs.getString("id"), rs.getObject("created_at", OffsetDateTime.class).toInstant(),
                rs.getString("tenant_id"), rs.getString("user_id"), rs.getString("endpoint"),
                rs.getString("conversation_id"), rs.getString("message_id"), rs.getString("requested_model"),
                rs.getString("provider_id"), rs.getString("model"), UsageOutcome.valueOf(rs.getString("outcome")),
                rs.getString("error_code"), attempts, rs.getInt("prompt_tokens"), rs.getInt("completion_tokens"),
                rs.getInt("cached_prompt_tokens"), cost == null ? null : cost.stripTrailingZeros(),
                rs.getLong("latency_ms"), ttftMs);
    }

    private static void set(PreparedStatement ps, List<Object> params) throws SQLException {
        for (int i = 0; i < params.size(); i++) {
            ps.setObject(i + 1, params.get(i));
        }
    }

    private static OffsetDateTime timestamp(Instant instant) {
        return OffsetDateTime.ofInstant(instant, ZoneOffset.UTC);
    }

    private <T> T inTransaction(String action, SqlWork<T> work) {
        return Transactions.inTransaction(dataSource, LOG, "parley datasource", action, work);
    }
}
