package dev.parley.budgets.internal;

import java.time.Instant;
import java.util.Comparator;

/** One row of {@code budget_spend}: a scope's spend in one period. */
record SpendKey(String tenantId, Scope scope, String scopeId, Period period, Instant periodStart) {
    /** The order rows are locked in by every node: no two reservations wait on each other. */
    static final Comparator<SpendKey> LOCK_ORDER = Comparator.comparing(SpendKey::tenantId)
            .thenComparing(SpendKey::scope).thenComparing(SpendKey::scopeId).thenComparing(SpendKey::period)
            .thenComparing(SpendKey::periodStart);
}
