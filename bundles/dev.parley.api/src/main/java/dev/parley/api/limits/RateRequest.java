package dev.parley.api.limits;

import java.util.Objects;

/**
 * One bucket of a {@link RateLimiter#acquireAll multi-bucket decision}: {@code cost} units from the bucket named
 * {@code key} under {@code limit}.
 *
 * @param key   the bucket, e.g. {@code "rl:tenant:acme"}; 1 … 512 characters, not blank
 * @param limit the limit for this bucket
 * @param cost  units to take, at least 1
 * @since 1.2
 */
public record RateRequest(String key, RateLimit limit, long cost) {
    public RateRequest {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(limit, "limit");
        if (cost < 1) {
            throw new IllegalArgumentException("cost must be at least 1");
        }
    }
}
