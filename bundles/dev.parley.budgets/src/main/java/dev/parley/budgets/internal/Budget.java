package dev.parley.budgets.internal;

import java.math.BigDecimal;
import java.time.Instant;

/**
 * One budget: the limits of one scope in one tenant per period. A null limit is no limit; at least one is set.
 *
 * @param scopeId {@code ""} for the tenant, the subject for a user, the credential id for a key
 */
record Budget(String id, String tenantId, Scope scope, String scopeId, Period period, Long maxRequests,
        Long maxTokens, BigDecimal maxCostUsd, Instant updatedAt, String updatedBy) {

    /** Whether this budget limits {@code subject} (a user scope) or {@code credentialId} (a key scope). */
    boolean appliesTo(String subject, String credentialId) {
        return switch (scope) {
            case TENANT -> true;
            case USER -> scopeId.equals(subject);
            case KEY -> scopeId.equals(credentialId);
        };
    }

    /** The spend row this budget counts in for the period that starts at {@code periodStart}. */
    SpendKey spendKey(Instant periodStart) {
        return new SpendKey(tenantId, scope, scopeId, period, periodStart);
    }
}
