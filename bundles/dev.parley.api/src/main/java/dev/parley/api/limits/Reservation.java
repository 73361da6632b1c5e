package dev.parley.api.limits;

import java.math.BigDecimal;
import org.osgi.annotation.versioning.ProviderType;

/**
 * What {@link Budgets#reserve} took: one request and an estimate of tokens and cost in each budget that applies. It
 * ends once, by {@link #settle} (the request went upstream: its estimates are replaced by what was used and what it
 * cost) or by
 * {@link #release} (it never started: everything is given back). Whichever is called first counts; later calls do
 * nothing. Both are safe to call from any thread and never throw: a store that fails is logged, not reported.
 */
@ProviderType
public interface Reservation {
    /** Holds nothing: what a caller without any budget gets. */
    Reservation NONE = new Reservation() {
        @Override
        public void settle(int tokensUsed, BigDecimal costUsd) {
        }

        @Override
        public void release() {
        }

        @Override
        public String toString() {
            return "Reservation.NONE";
        }
    };

    /**
     * @param tokensUsed what the request used (prompt and answer; what arrived, for a stream that was cut); 0 or more
     * @param costUsd    its cost, or null when the model has no price
     */
    void settle(int tokensUsed, BigDecimal costUsd);

    /** Gives back the request and its estimate: it never reached a provider. */
    void release();
}
