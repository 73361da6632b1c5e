package dev.parley.api.limits;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.util.Objects;

/**
 * A {@link ErrorCode#RATE_LIMITED} refusal by one of Parley's own rate limits (not a provider's), carrying what an
 * edge needs for the {@code RateLimit-Policy} and {@code RateLimit} headers: the policy's name, its limit and the
 * refusing decision. Its {@link #retryAfter()} is the decision's wait.
 *
 * @since 1.2
 */
public class RateLimitedException extends ParleyException {
    private static final long serialVersionUID = 1L;

    private final String policy;
    private final transient RateDecision decision;

    /**
     * @param policy   the policy's name as a client sees it in the headers, e.g. {@code "model"}, {@code "tokens-key"}
     * @param decision the refusing decision (its limit is the policy's quota)
     * @param message  safe to show to the caller
     */
    public RateLimitedException(String policy, RateDecision decision, String message) {
        super(ErrorCode.RATE_LIMITED, message, Objects.requireNonNull(decision, "decision").retryAfter(), null);
        this.policy = Objects.requireNonNull(policy, "policy");
        this.decision = decision;
    }

    /** The policy's name in the {@code RateLimit-Policy} header. */
    public String policy() {
        return policy;
    }

    /** The decision that refused; {@code decision().limit()} is the quota. */
    public RateDecision decision() {
        return decision;
    }
}
