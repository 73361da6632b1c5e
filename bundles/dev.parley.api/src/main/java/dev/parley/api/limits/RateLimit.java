package dev.parley.api.limits;

import java.time.Duration;
import java.util.Objects;

/**
 * A limit: {@code amount} units (requests or tokens) per {@code period}, of which up to {@code burst} may be spent
 * at once. GCRA spreads the rest evenly: after a burst, one unit comes back every {@code period / amount}.
 *
 * @param amount units per period, at least 1
 * @param period the window, at least one millisecond
 * @param burst units that may be spent at once, 1 … {@code amount}
 */
public record RateLimit(long amount, Duration period, long burst) {
    public RateLimit {
        Objects.requireNonNull(period, "period");
        if (amount < 1) {
            throw new IllegalArgumentException("amount must be at least 1");
        }
        if (period.toMillis() < 1) {
            throw new IllegalArgumentException("period must be at least one millisecond");
        }
        if (burst < 1 || burst > amount) {
            throw new IllegalArgumentException("burst must be between 1 and amount");
        }
    }

    /** {@code amount} per {@code period}, all of it available at once. */
    public static RateLimit of(long amount, Duration period) {
        return new RateLimit(amount, period, amount);
    }
}
