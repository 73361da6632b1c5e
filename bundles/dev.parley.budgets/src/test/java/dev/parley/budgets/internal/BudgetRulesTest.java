package dev.parley.budgets.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the admin API accepts as a budget, and the field each refusal names. */
class BudgetRulesTest {
    private static Map<String, Object> body(Object... kv) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    private static void refused(Map<String, Object> body, String field, String messagePart) {
        assertThatThrownBy(() -> BudgetRules.check(body)).isInstanceOfSatisfying(ParleyException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
            assertThat(e.param()).contains(field);
            assertThat(e.getMessage()).contains(messagePart);
        });
    }

    @Test
    void acceptsEachScopeWithItsIdentifier() {
        assertThat(BudgetRules.check(body("scope", "tenant", "period", "day", "max_requests", 100)))
                .isEqualTo(new BudgetRules.Spec(null, Scope.TENANT, "", Period.DAY, 100L, null, null));
        assertThat(BudgetRules.check(body("scope", "user", "subject", "alice", "period", "Month", "max_tokens",
                5_000_000_000L, "tenant", "acme")))
                .isEqualTo(new BudgetRules.Spec("acme", Scope.USER, "alice", Period.MONTH, null, 5_000_000_000L, null));
        assertThat(BudgetRules.check(body("scope", "key", "key_id", "k1", "period", "day", "max_cost_usd", 12.5)))
                .isEqualTo(new BudgetRules.Spec(null, Scope.KEY, "k1", Period.DAY, null, null, new BigDecimal("12.5")));
        assertThat(BudgetRules.check(body("scope", "key", "key_id", "k1", "period", "day", "max_cost_usd", "0.000001"))
                .maxCostUsd()).isEqualByComparingTo("0.000001");
        assertThat(BudgetRules.check(body("scope", "tenant", "period", "day", "max_requests", 0)).maxRequests())
                .isZero();
    }

    @Test
    void refusesWhatIsMissingWrongOrUnknownNamingTheField() {
        refused(null, "scope", "JSON object");
        refused(body("scope", "tenant", "period", "day", "max_requests", 1, "limit", 3), "limit", "Unknown field");
        refused(body("period", "day", "max_requests", 1), "scope", "required");
        refused(body("scope", "team", "period", "day", "max_requests", 1), "scope", "tenant, user or key");
        refused(body("scope", "user", "period", "day", "max_requests", 1), "subject", "required");
        refused(body("scope", "key", "period", "day", "max_requests", 1), "key_id", "required");
        refused(body("scope", "tenant", "subject", "x", "period", "day", "max_requests", 1), "subject", "scope user");
        refused(body("scope", "user", "subject", "x", "key_id", "k", "period", "day", "max_requests", 1), "key_id",
                "scope key");
        refused(body("scope", "tenant", "period", "week", "max_requests", 1), "period", "day or month");
        refused(body("scope", "tenant", "period", "day"), "max_requests", "at least one limit");
        refused(body("scope", "tenant", "period", "day", "max_requests", -1), "max_requests", "whole number");
        refused(body("scope", "tenant", "period", "day", "max_requests", 1.5), "max_requests", "whole number");
        refused(body("scope", "tenant", "period", "day", "max_tokens", "100"), "max_tokens", "whole number");
        refused(body("scope", "tenant", "period", "day", "max_tokens", BigInteger.TEN.pow(30)), "max_tokens",
                "whole number");
        refused(body("scope", "tenant", "period", "day", "max_cost_usd", "-1"), "max_cost_usd", "amount in USD");
        refused(body("scope", "tenant", "period", "day", "max_cost_usd", "abc"), "max_cost_usd", "amount in USD");
        refused(body("scope", "tenant", "period", "day", "max_cost_usd", "0.0000001"), "max_cost_usd", "6 decimals");
        refused(body("scope", "tenant", "period", "day", "max_cost_usd", true), "max_cost_usd", "amount in USD");
        refused(body("scope", "user", "subject", "x".repeat(201), "period", "day", "max_requests", 1), "subject",
                "at most 200");
        refused(body("scope", "user", "subject", " ", "period", "day", "max_requests", 1), "subject", "non-empty");
    }

    @Test
    void periodsStartAndEndOnUtcCalendarBoundaries() {
        Instant t = Instant.parse("2028-02-29T18:30:00Z");
        assertThat(Period.DAY.start(t)).isEqualTo(Instant.parse("2028-02-29T00:00:00Z"));
        assertThat(Period.DAY.end(Period.DAY.start(t))).isEqualTo(Instant.parse("2028-03-01T00:00:00Z"));
        assertThat(Period.MONTH.start(t)).isEqualTo(Instant.parse("2028-02-01T00:00:00Z"));
        assertThat(Period.MONTH.end(Period.MONTH.start(t))).isEqualTo(Instant.parse("2028-03-01T00:00:00Z"));
        assertThat(Period.MONTH.end(Instant.parse("2028-12-01T00:00:00Z")))
                .isEqualTo(Instant.parse("2029-01-01T00:00:00Z"));
    }
}
