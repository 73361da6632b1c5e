package dev.parley.api.limits;

import dev.parley.api.identity.Principal;
import java.math.BigDecimal;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Budgets per API key, user and tenant: requests, tokens and cost (USD) per period. A chat request reserves before it
 * goes upstream and settles what it used when it ends, however it ends; a caller over any of its budgets is refused
 * before the provider is called.
 *
 * <p>Reservations are atomic across every node that shares the implementation's store: concurrent callers never
 * together exceed a limit on requests or tokens, nor a limit on cost by more than their estimates fell short of
 * their real cost (a request reserves an estimate of its cost, settled to the real cost at its end).
 */
@ProviderType
public interface Budgets {
    /**
     * Whether any budget applies to {@code caller} (its key, its user or its tenant). Answered from memory on the hot
     * path; lets a caller skip work (such as counting prompt tokens) that only a reservation needs.
     */
    boolean appliesTo(Principal caller);

    /**
     * Reserves one request, {@code estimatedTokens} tokens and {@code estimatedCostUsd} in every budget that applies
     * to {@code caller} for the current period, all or nothing. When none applies, returns {@link Reservation#NONE}
     * and touches no store.
     *
     * @param model            the model the request is for (recorded nowhere yet; budgets are not per model)
     * @param estimatedTokens  prompt tokens plus the most the answer may take; 0 or more
     * @param estimatedCostUsd what those tokens cost at the model's prices; null or 0 when the model has no price (a
     *                         cost budget then refuses only once it is used up)
     * @return the reservation, to be settled or released exactly once
     * @throws dev.parley.api.error.ParleyException {@code BUDGET_EXCEEDED} naming the budget (key, user or tenant) and
     *                                              what ran out, with a retry hint at the end of its period;
     *                                              {@code UNAVAILABLE} when the budgets cannot be checked
     * @since 1.2
     */
    Reservation reserve(Principal caller, String model, int estimatedTokens, BigDecimal estimatedCostUsd);

    /** {@link #reserve(Principal, String, int, BigDecimal)} with no cost estimate. */
    default Reservation reserve(Principal caller, String model, int estimatedTokens) {
        return reserve(caller, model, estimatedTokens, null);
    }
}
