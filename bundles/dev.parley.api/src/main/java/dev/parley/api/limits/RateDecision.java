package dev.parley.api.limits;

import java.time.Duration;
import java.util.Objects;

/**
 * What a limiter decided for one request.
 *
 * @param allowed whether the units were taken
 * @param limit the limit it was decided under
 * @param remaining units that could still be taken at once after this decision
 * @param retryAfter when refused: how long until the same request would be allowed; zero when allowed
 * @param resetAfter how long until the whole burst is available again
 * @param degraded true when the shared store could not be asked and the limiter's fail mode decided (open: allowed,
 *                 closed: refused); the edge logs it and health reports it
 */
public record RateDecision(boolean allowed, RateLimit limit, long remaining, Duration retryAfter, Duration resetAfter,
        boolean degraded) {
    public RateDecision {
        Objects.requireNonNull(limit, "limit");
        Objects.requireNonNull(retryAfter, "retryAfter");
        Objects.requireNonNull(resetAfter, "resetAfter");
        if (remaining < 0) {
            throw new IllegalArgumentException("remaining must not be negative");
        }
    }
}
