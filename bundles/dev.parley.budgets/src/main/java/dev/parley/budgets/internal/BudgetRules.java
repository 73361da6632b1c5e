package dev.parley.budgets.internal;

import dev.parley.api.error.ParleyException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Map;
import java.util.Set;

/** Checks a budget as the admin API receives it; every refusal is a 400 naming the field. */
final class BudgetRules {
    static final Set<String> FIELDS = Set.of("tenant", "scope", "subject", "key_id", "period", "max_requests",
            "max_tokens", "max_cost_usd");
    /** Larger than any sensible budget, small enough that sums stay far from overflow. */
    static final long MAX_COUNT = 1_000_000_000_000_000L;
    static final BigDecimal MAX_COST = new BigDecimal("100000000000000"); // fits DECIMAL(20, 6)
    static final int MAX_ID = 200;

    /** A checked budget: {@code tenant} null means the caller's own. */
    record Spec(String tenant, Scope scope, String scopeId, Period period, Long maxRequests, Long maxTokens,
            BigDecimal maxCostUsd) {
    }

    private BudgetRules() {
    }

    static Spec check(Map<String, Object> body) {
        if (body == null) {
            throw ParleyException.invalid("scope", "Send a JSON object: {\"scope\": \"tenant\"|\"user\"|\"key\", "
                    + "\"period\": \"day\"|\"month\", and at least one of max_requests, max_tokens, max_cost_usd}.");
        }
        for (String field : body.keySet()) {
            if (!FIELDS.contains(field)) {
                throw ParleyException.invalid(field, "Unknown field '" + shorten(field) + "'; the fields are "
                        + String.join(", ", FIELDS.stream().sorted().toList()) + ".");
            }
        }
        String tenant = text(body, "tenant", false);
        String scopeText = text(body, "scope", true);
        Scope scope = Scope.of(scopeText);
        if (scope == null) {
            throw ParleyException.invalid("scope", "Field 'scope' must be tenant, user or key.");
        }
        String subject = text(body, "subject", scope == Scope.USER);
        String keyId = text(body, "key_id", scope == Scope.KEY);
        if (scope != Scope.USER && subject != null) {
            throw ParleyException.invalid("subject", "Field 'subject' is for a budget of scope user only.");
        }
        if (scope != Scope.KEY && keyId != null) {
            throw ParleyException.invalid("key_id", "Field 'key_id' is for a budget of scope key only.");
        }
        Period period = Period.of(text(body, "period", true));
        if (period == null) {
            throw ParleyException.invalid("period", "Field 'period' must be day or month (UTC).");
        }
        Long maxRequests = count(body, "max_requests");
        Long maxTokens = count(body, "max_tokens");
        BigDecimal maxCost = cost(body);
        if (maxRequests == null && maxTokens == null && maxCost == null) {
            throw ParleyException.invalid("max_requests", "A budget needs at least one limit: max_requests, "
                    + "max_tokens or max_cost_usd.");
        }
        String scopeId = switch (scope) {
            case TENANT -> "";
            case USER -> subject;
            case KEY -> keyId;
        };
        return new Spec(tenant, scope, scopeId, period, maxRequests, maxTokens, maxCost);
    }

    private static String text(Map<String, Object> body, String field, boolean required) {
        Object v = body.get(field);
        if (v == null) {
            if (required) {
                throw ParleyException.invalid(field, "Field '" + field + "' is required.");
            }
            return null;
        }
        if (!(v instanceof String s) || s.isBlank()) {
            throw ParleyException.invalid(field, "Field '" + field + "' must be a non-empty string.");
        }
        if (s.length() > MAX_ID) {
            throw ParleyException.invalid(field, "Field '" + field + "' is at most " + MAX_ID + " characters.");
        }
        return s.strip();
    }

    private static Long count(Map<String, Object> body, String field) {
        Object v = body.get(field);
        if (v == null) {
            return null;
        }
        BigInteger n = null;
        if (v instanceof Integer || v instanceof Long || v instanceof Short) {
            n = BigInteger.valueOf(((Number) v).longValue());
        } else if (v instanceof BigInteger b) {
            n = b;
        }
        if (n == null || n.signum() < 0 || n.compareTo(BigInteger.valueOf(MAX_COUNT)) > 0) {
            throw ParleyException.invalid(field, "Field '" + field + "' must be a whole number from 0 to " + MAX_COUNT
                    + ", or null for no limit.");
        }
        return n.longValue();
    }

    private static BigDecimal cost(Map<String, Object> body) {
        Object v = body.get("max_cost_usd");
        if (v == null) {
            return null;
        }
        BigDecimal d;
        try {
            d = v instanceof Number || v instanceof String ? new BigDecimal(v.toString().strip()) : null;
        } catch (NumberFormatException e) {
            d = null;
        }
        if (d == null || d.signum() < 0 || d.compareTo(MAX_COST) >= 0 || d.stripTrailingZeros().scale() > 6) {
            throw ParleyException.invalid("max_cost_usd", "Field 'max_cost_usd' must be an amount in USD from 0 "
                    + "with at most 6 decimals (a number or a string such as \"12.50\"), or null for no limit.");
        }
        return d.stripTrailingZeros().scale() < 0 ? d.setScale(0) : d.stripTrailingZeros();
    }

    static String shorten(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "…";
    }
}
