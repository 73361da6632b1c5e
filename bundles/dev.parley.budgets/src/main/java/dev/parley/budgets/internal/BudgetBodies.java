package dev.parley.budgets.internal;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.List;

/** The JSON of the budgets API. Field names are snake_case, as in the request ({@code max_tokens}). */
final class BudgetBodies {
    private BudgetBodies() {
    }

    /** What the scope spent in the current period. Costs are decimal strings, never binary floating point. */
    record Spent(long requests, long tokens, @JsonProperty("cost_usd") String costUsd) {
    }

    /**
     * One budget with its current spend.
     *
     * @param subject the user, for scope {@code user}
     * @param keyId   the credential (API key id), for scope {@code key}
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record BudgetBody(String id, String tenant, String scope, String subject, @JsonProperty("key_id") String keyId,
            String period, @JsonProperty("max_requests") Long maxRequests, @JsonProperty("max_tokens") Long maxTokens,
            @JsonProperty("max_cost_usd") String maxCostUsd, Spent spent,
            @JsonProperty("period_start") Instant periodStart, @JsonProperty("renews_at") Instant renewsAt,
            @JsonProperty("updated_at") Instant updatedAt, @JsonProperty("updated_by") String updatedBy) {

        static BudgetBody of(DatabaseBudgets.View v) {
            Budget b = v.budget();
            return new BudgetBody(b.id(), b.tenantId(), b.scope().slug(), b.scope() == Scope.USER ? b.scopeId() : null,
                    b.scope() == Scope.KEY ? b.scopeId() : null, b.period().slug(), b.maxRequests(), b.maxTokens(),
                    b.maxCostUsd() == null ? null : b.maxCostUsd().stripTrailingZeros().toPlainString(),
                    new Spent(v.spent().requests(), v.spent().tokens(),
                            v.spent().costUsd().stripTrailingZeros().toPlainString()),
                    v.periodStart(), v.renewsAt(), b.updatedAt(), b.updatedBy());
        }
    }

    record BudgetList(List<BudgetBody> budgets) {
        static BudgetList of(List<DatabaseBudgets.View> views) {
            return new BudgetList(views.stream().map(BudgetBody::of).toList());
        }
    }
}
