package dev.parley.budgets.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.db.Database;
import dev.parley.db.Sql;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The tables {@code budgets} and {@code budget_spend} (this bundle's V1 migration) in Parley's {@link Database}.
 *
 * <p>A reservation is one transaction with one conditional {@code UPDATE} per budget that applies, in a fixed order
 * ({@link SpendKey#LOCK_ORDER}). The condition is the limit itself, so the database decides atomically for every
 * node that shares it: two reservations never both take the last unit (PostgreSQL re-checks the condition on the row
 * it waited for; H2 locks the row the same way). A refusal throws, which rolls the whole transaction back.
 */
final class BudgetStore {
    /** The module this bundle's migrations are recorded under: its symbolic name. */
    static final String MODULE = "dev.parley.budgets";
    static final String MIGRATIONS = "db/migration/" + MODULE + "/";
    /** Oldest first; add new files here too. */
    static final List<String> MIGRATION_FILES = List.of("V1__budgets.sql");
    /** PostgreSQL only: row-level security on both tables (ADR 24), a module of its own. */
    static final String POSTGRESQL_MODULE = MODULE + ".postgresql";

    private static final String COLUMNS = "budget_id, tenant_id, scope_kind, scope_id, budget_period, max_requests, "
            + "max_tokens, max_cost_usd, updated_at, updated_by";
    private static final String SPEND_KEY = "tenant_id = ? AND scope_kind = ? AND scope_id = ? AND budget_period = ? "
            + "AND period_start = ?";
    /** Tries of the UPDATE-or-INSERT of one spend row; each lost race means another reservation made the row. */
    private static final int TRIES = 4;

    private final Database database;

    BudgetStore(Database database) {
        this.database = database;
        database.migrate(MODULE, BudgetStore.class.getClassLoader(), MIGRATIONS, MIGRATION_FILES);
        if ("postgresql".equals(database.dialect())) {
            database.migrate(POSTGRESQL_MODULE, BudgetStore.class.getClassLoader(),
                    "db/migration/" + POSTGRESQL_MODULE + "/", List.of("V1__row_level_security.sql"));
        }
    }

    // --- Definitions -----------------------------------------------------------------------------------------------

    /** Every budget of {@code tenantId}: what the per-node cache holds for it. */
    List<Budget> budgets(String tenantId) {
        return database.inTenantTransaction(tenantId, "read the budgets", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM budgets WHERE tenant_id = ? "
                    + "ORDER BY scope_kind, scope_id, budget_period")) {
                ps.setString(1, tenantId);
                List<Budget> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(budget(rs));
                    }
                }
                out.sort(Comparator.comparing(Budget::scope).thenComparing(Budget::scopeId)
                        .thenComparing(Budget::period));
                return List.copyOf(out);
            }
        });
    }

    Optional<Budget> find(String tenantId, String id) {
        return database.inTenantTransaction(tenantId, "read the budget", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS
                    + " FROM budgets WHERE tenant_id = ? AND budget_id = ?")) {
                ps.setString(1, tenantId);
                ps.setString(2, id);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(budget(rs)) : Optional.empty();
                }
            }
        });
    }

    /** A budget created or replaced, and whether it was created. */
    record Put(Budget budget, boolean created) {
    }

    /**
     * Creates the budget of {@code b}'s tenant, scope and period, or replaces its limits when there is one (its id
     * stays). {@code b.id()} is the id a new budget gets.
     */
    Put put(Budget b) {
        for (int attempt = 0; attempt < TRIES; attempt++) {
            Put done = database.inTenantTransaction(b.tenantId(), "store the budget", c -> {
                try (PreparedStatement ps = c.prepareStatement("UPDATE budgets SET max_requests = ?, max_tokens = ?, "
                        + "max_cost_usd = ?, updated_at = ?, updated_by = ? WHERE tenant_id = ? AND scope_kind = ? "
                        + "AND scope_id = ? AND budget_period = ?")) {
                    bindLimits(ps, b);
                    ps.setObject(4, Sql.timestamp(b.updatedAt()));
                    ps.setString(5, b.updatedBy());
                    ps.setString(6, b.tenantId());
                    ps.setString(7, b.scope().slug());
                    ps.setString(8, b.scopeId());
                    ps.setString(9, b.period().slug());
                    if (ps.executeUpdate() == 1) {
                        return new Put(byScope(c, b).orElseThrow(), false);
                    }
                }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO budgets (" + COLUMNS
                        + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                    ps.setString(1, b.id());
                    ps.setString(2, b.tenantId());
                    ps.setString(3, b.scope().slug());
                    ps.setString(4, b.scopeId());
                    ps.setString(5, b.period().slug());
                    setLong(ps, 6, b.maxRequests());
                    setLong(ps, 7, b.maxTokens());
                    ps.setBigDecimal(8, b.maxCostUsd());
                    ps.setObject(9, Sql.timestamp(b.updatedAt()));
                    ps.setString(10, b.updatedBy());
                    ps.executeUpdate();
                    return new Put(byScope(c, b).orElseThrow(), true);
                } catch (SQLException e) {
                    if (Sql.isUniqueViolation(e)) {
                        c.rollback();
                        return null; // made meanwhile by another admin: replace it
                    }
                    throw e;
                }
            });
            if (done != null) {
                return done;
            }
        }
        throw new ParleyException(ErrorCode.CONFLICT, "The budget is being changed by someone else; try again.");
    }

    /** Deletes a budget; what its scope spent stays (a new budget for it counts from there). */
    Optional<Budget> delete(String tenantId, String id) {
        return database.inTenantTransaction(tenantId, "delete the budget", c -> {
            Optional<Budget> found;
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS
                    + " FROM budgets WHERE tenant_id = ? AND budget_id = ?")) {
                ps.setString(1, tenantId);
                ps.setString(2, id);
                try (ResultSet rs = ps.executeQuery()) {
                    found = rs.next() ? Optional.of(budget(rs)) : Optional.empty();
                }
            }
            if (found.isPresent()) {
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM budgets WHERE budget_id = ?")) {
                    ps.setString(1, id);
                    ps.executeUpdate();
                }
            }
            return found;
        });
    }

    /** What each of {@code keys} spent; a key without a row spent nothing. */
    Map<SpendKey, Spend> spend(List<SpendKey> keys) {
        if (keys.isEmpty()) {
            return Map.of();
        }
        return database.inTenantTransaction(tenantOf(keys), "read the spend", c -> {
            Map<SpendKey, Spend> out = new HashMap<>();
            for (SpendKey k : keys) {
                out.put(k, read(c, k).orElse(Spend.NONE));
            }
            return out;
        });
    }

    // --- Reservations ----------------------------------------------------------------------------------------------

    /**
     * Takes one request, {@code tokens} and {@code costUsd} from every budget of {@code budgets} in the period
     * {@code now} falls in, all or nothing.
     *
     * @param costUsd the request's estimated cost, 0 or more (0 when its model has no price)
     * @return the spend rows taken from, to settle or release later
     * @throws ParleyException BUDGET_EXCEEDED for the first budget that has not enough left (nothing is taken)
     */
    List<SpendKey> reserve(List<Budget> budgets, long tokens, BigDecimal costUsd, Instant now) {
        BigDecimal cost = scaled(costUsd);
        List<Budget> ordered = new ArrayList<>(budgets);
        ordered.sort(Comparator.comparing((Budget b) -> b.spendKey(b.period().start(now)), SpendKey.LOCK_ORDER));
        return database.inTenantTransaction(ordered.get(0).tenantId(), "reserve the budget", c -> {
            List<SpendKey> taken = new ArrayList<>(ordered.size());
            for (Budget b : ordered) {
                SpendKey key = b.spendKey(b.period().start(now));
                take(c, b, key, tokens, cost, now);
                taken.add(key);
            }
            return taken;
        });
    }

    private void take(Connection c, Budget b, SpendKey key, long tokens, BigDecimal cost, Instant now)
            throws SQLException {
        for (int attempt = 0; attempt < TRIES; attempt++) {
            if (update(c, b, key, tokens, cost) == 1) {
                return;
            }
            Optional<Spend> row = read(c, key);
            if (row.isPresent()) {
                String refusal = refusal(b, row.get(), tokens, cost);
                if (refusal != null) {
                    throw exceeded(b, key, refusal, now);
                }
                continue; // given back in between: try again
            }
            String refusal = refusal(b, Spend.NONE, tokens, cost);
            if (refusal != null) {
                throw exceeded(b, key, refusal, now);
            }
            // The first request of the period for this scope makes the row. Under a savepoint: PostgreSQL refuses
            // every further statement of a transaction whose statement failed, and another node may win the race.
            Savepoint sp = c.setSavepoint();
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO budget_spend (tenant_id, scope_kind, "
                    + "scope_id, budget_period, period_start, requests, tokens, cost_usd) VALUES (?, ?, ?, ?, ?, 1, ?, ?)")) {
                bindKey(ps, 1, key);
                ps.setLong(6, tokens);
                ps.setBigDecimal(7, cost);
                ps.executeUpdate();
                c.releaseSavepoint(sp);
                return;
            } catch (SQLException e) {
                if (!Sql.isUniqueViolation(e)) {
                    throw e;
                }
                c.rollback(sp); // someone made it first: update it
            }
        }
        throw new ParleyException(ErrorCode.UNAVAILABLE, "The budget is too busy to reserve right now; try again.",
                Duration.ofSeconds(1), null);
    }

    /**
     * The conditional UPDATE: only the limits this budget has, so a null limit costs no comparison. A cost limit is
     * checked twice: what is spent must be under it (a used-up budget refuses even a request of no known cost) and
     * what is spent plus this request's estimate must not pass it.
     */
    private static int update(Connection c, Budget b, SpendKey key, long tokens, BigDecimal cost)
            throws SQLException {
        StringBuilder sql = new StringBuilder("UPDATE budget_spend SET requests = requests + 1, tokens = tokens + ?, "
                + "cost_usd = cost_usd + ? WHERE " + SPEND_KEY);
        if (b.maxRequests() != null) {
            sql.append(" AND requests < ?");
        }
        if (b.maxTokens() != null) {
            sql.append(" AND tokens + ? <= ?");
        }
        if (b.maxCostUsd() != null) {
            sql.append(" AND cost_usd < ? AND cost_usd + ? <= ?");
        }
        try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
            ps.setLong(1, tokens);
            ps.setBigDecimal(2, cost);
            int i = bindKey(ps, 3, key);
            if (b.maxRequests() != null) {
                ps.setLong(i++, b.maxRequests());
            }
            if (b.maxTokens() != null) {
                ps.setLong(i++, tokens);
                ps.setLong(i++, b.maxTokens());
            }
            if (b.maxCostUsd() != null) {
                ps.setBigDecimal(i++, b.maxCostUsd());
                ps.setBigDecimal(i++, cost);
                ps.setBigDecimal(i, b.maxCostUsd());
            }
            return ps.executeUpdate();
        }
    }

    /** What ran out, for the refusal; null when {@code spent} leaves room for one more request of this size. */
    static String refusal(Budget b, Spend spent, long tokens, BigDecimal cost) {
        if (b.maxRequests() != null && spent.requests() + 1 > b.maxRequests()) {
            return "request budget is used up (" + spent.requests() + " of " + b.maxRequests() + " requests)";
        }
        if (b.maxTokens() != null && spent.tokens() + tokens > b.maxTokens()) {
            if (tokens > b.maxTokens()) {
                return "token budget (" + b.maxTokens() + " tokens) is smaller than this request may use (up to "
                        + tokens + " tokens: its prompt and max tokens)";
            }
            return "token budget is used up (" + spent.tokens() + " of " + b.maxTokens()
                    + " tokens; this request may use up to " + tokens + ")";
        }
        if (b.maxCostUsd() != null) {
            if (spent.costUsd().compareTo(b.maxCostUsd()) >= 0) {
                return "cost budget is used up (USD " + usd(spent.costUsd()) + " of " + usd(b.maxCostUsd()) + ")";
            }
            if (spent.costUsd().add(cost).compareTo(b.maxCostUsd()) > 0) {
                if (cost.compareTo(b.maxCostUsd()) > 0) {
                    return "cost budget (USD " + usd(b.maxCostUsd()) + ") is smaller than this request may cost (up "
                            + "to USD " + usd(cost) + ": its prompt and max tokens at the model's prices)";
                }
                return "cost budget is used up (USD " + usd(spent.costUsd()) + " of " + usd(b.maxCostUsd())
                        + "; this request may cost up to USD " + usd(cost) + ")";
            }
        }
        return null;
    }

    private static String usd(BigDecimal amount) {
        return amount.stripTrailingZeros().toPlainString();
    }

    /** A cost as the spend table keeps it (10 decimals); null is 0. */
    static BigDecimal scaled(BigDecimal costUsd) {
        return costUsd == null || costUsd.signum() < 0 ? BigDecimal.ZERO.setScale(10)
                : costUsd.setScale(10, RoundingMode.HALF_UP);
    }

    private static ParleyException exceeded(Budget b, SpendKey key, String what, Instant now) {
        Instant renews = b.period().end(key.periodStart());
        long seconds = Math.max(1, Duration.between(now, renews).toSeconds() + 1);
        String message = "The " + b.period().adjective() + " " + ownerFirst(what, b) + " It renews at " + renews + ".";
        return new ParleyException(ErrorCode.BUDGET_EXCEEDED, message, Duration.ofSeconds(seconds), null);
    }

    /** {@code "token budget of the user 'alice' is used up (...)."}. */
    private static String ownerFirst(String what, Budget b) {
        int space = what.indexOf("budget") + "budget".length();
        return what.substring(0, space) + " of " + b.scope().describe(b.tenantId(), b.scopeId()) + what.substring(space)
                + ".";
    }

    /**
     * Replaces the estimates ({@code estimate} tokens, {@code estimatedCost}) with what was used ({@code used} tokens,
     * {@code costUsd}) in each row of {@code keys}.
     */
    void settle(List<SpendKey> keys, long estimate, BigDecimal estimatedCost, long used, BigDecimal costUsd) {
        BigDecimal costDelta = scaled(costUsd).subtract(scaled(estimatedCost));
        database.inTenantTransaction(tenantOf(keys), "settle the budget", c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE budget_spend SET tokens = GREATEST(tokens + ?, 0), "
                    + "cost_usd = GREATEST(cost_usd + ?, 0) WHERE " + SPEND_KEY)) {
                for (SpendKey k : keys) {
                    ps.setLong(1, used - estimate);
                    ps.setBigDecimal(2, costDelta);
                    bindKey(ps, 3, k);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            return null;
        });
    }

    /** Gives back one request, {@code estimate} tokens and {@code estimatedCost} in each row of {@code keys}. */
    void release(List<SpendKey> keys, long estimate, BigDecimal estimatedCost) {
        BigDecimal cost = scaled(estimatedCost);
        database.inTenantTransaction(tenantOf(keys), "release the budget", c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE budget_spend SET requests = GREATEST(requests - 1, 0), "
                    + "tokens = GREATEST(tokens - ?, 0), cost_usd = GREATEST(cost_usd - ?, 0) WHERE " + SPEND_KEY)) {
                for (SpendKey k : keys) {
                    ps.setLong(1, estimate);
                    ps.setBigDecimal(2, cost);
                    bindKey(ps, 3, k);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            return null;
        });
    }

    /**
     * Deletes spend rows of periods that ended before {@code cutoff}, at most {@code batchSize} per transaction, so a
     * large backlog never holds locks for long.
     *
     * @return how many rows were deleted
     */
    int purge(Instant cutoff, int batchSize) {
        Instant dayCut = Period.DAY.start(cutoff);
        Instant monthCut = Period.MONTH.start(cutoff);
        int total = 0;
        while (true) {
            Purged batch = database.inTransaction("purge old budget spend", c -> {
                List<SpendKey> old = new ArrayList<>();
                try (PreparedStatement ps = c.prepareStatement("SELECT tenant_id, scope_kind, scope_id, budget_period, "
                        + "period_start FROM budget_spend WHERE (budget_period = ? AND period_start < ?) OR "
                        + "(budget_period = ? AND period_start < ?) FETCH FIRST ? ROWS ONLY")) {
                    ps.setString(1, Period.DAY.slug());
                    ps.setObject(2, Sql.timestamp(dayCut));
                    ps.setString(3, Period.MONTH.slug());
                    ps.setObject(4, Sql.timestamp(monthCut));
                    ps.setInt(5, batchSize);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            old.add(new SpendKey(rs.getString(1), Scope.of(rs.getString(2)), rs.getString(3),
                                    Period.of(rs.getString(4)), Sql.instant(rs, 5)));
                        }
                    }
                }
                if (old.isEmpty()) {
                    return new Purged(0, 0);
                }
                int n = 0;
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM budget_spend WHERE " + SPEND_KEY)) {
                    for (SpendKey k : old) {
                        bindKey(ps, 1, k);
                        ps.addBatch();
                    }
                    for (int count : ps.executeBatch()) {
                        n += count > 0 ? count : 0;
                    }
                }
                // Another node purging at the same time deletes some of the same rows: those count 0 here.
                return new Purged(old.size(), n);
            });
            total += batch.deleted();
            if (batch.selected() < batchSize) {
                return total;
            }
        }
    }

    private record Purged(int selected, int deleted) {
    }

    /** The one tenant of {@code keys}: every spend row of one reservation or view belongs to the caller's tenant. */
    private static String tenantOf(List<SpendKey> keys) {
        String tenant = keys.get(0).tenantId();
        for (SpendKey k : keys) {
            if (!k.tenantId().equals(tenant)) {
                throw new IllegalArgumentException("spend rows of more than one tenant");
            }
        }
        return tenant;
    }

    // --- Rows ------------------------------------------------------------------------------------------------------

    private static Optional<Spend> read(Connection c, SpendKey k) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT requests, tokens, cost_usd FROM budget_spend WHERE "
                + SPEND_KEY)) {
            bindKey(ps, 1, k);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new Spend(rs.getLong(1), rs.getLong(2), rs.getBigDecimal(3)))
                        : Optional.empty();
            }
        }
    }

    private static Optional<Budget> byScope(Connection c, Budget b) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM budgets WHERE tenant_id = ? AND "
                + "scope_kind = ? AND scope_id = ? AND budget_period = ?")) {
            ps.setString(1, b.tenantId());
            ps.setString(2, b.scope().slug());
            ps.setString(3, b.scopeId());
            ps.setString(4, b.period().slug());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(budget(rs)) : Optional.empty();
            }
        }
    }

    private static int bindKey(PreparedStatement ps, int first, SpendKey k) throws SQLException {
        ps.setString(first, k.tenantId());
        ps.setString(first + 1, k.scope().slug());
        ps.setString(first + 2, k.scopeId());
        ps.setString(first + 3, k.period().slug());
        ps.setObject(first + 4, Sql.timestamp(k.periodStart()));
        return first + 5;
    }

    private static void bindLimits(PreparedStatement ps, Budget b) throws SQLException {
        setLong(ps, 1, b.maxRequests());
        setLong(ps, 2, b.maxTokens());
        ps.setBigDecimal(3, b.maxCostUsd());
    }

    private static void setLong(PreparedStatement ps, int i, Long v) throws SQLException {
        if (v == null) {
            ps.setNull(i, java.sql.Types.BIGINT);
        } else {
            ps.setLong(i, v);
        }
    }

    private static Budget budget(ResultSet rs) throws SQLException {
        long maxRequests = rs.getLong("max_requests");
        Long requests = rs.wasNull() ? null : maxRequests;
        long maxTokens = rs.getLong("max_tokens");
        Long tokens = rs.wasNull() ? null : maxTokens;
        return new Budget(rs.getString("budget_id"), rs.getString("tenant_id"), Scope.of(rs.getString("scope_kind")),
                rs.getString("scope_id"), Period.of(rs.getString("budget_period")), requests, tokens,
                rs.getBigDecimal("max_cost_usd"), Sql.instant(rs, "updated_at"), rs.getString("updated_by"));
    }

    static String newId() {
        return UUID.randomUUID().toString();
    }
}
