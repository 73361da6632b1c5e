package dev.parley.api.limits;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Decides whether {@code cost} units may be taken from the bucket named {@code key} under a limit, and takes them if
 * so, atomically: concurrent callers, also on other nodes sharing the limiter's store, never together take more than
 * the limit allows. Never blocks for long: a shared store that does not answer in time is a degraded decision.
 */
@ProviderType
public interface RateLimiter {
    /**
     * @param key the bucket, e.g. {@code "key:<id>:requests"}; at most 512 characters
     * @param limit the limit for this bucket; a bucket's limit may change between calls (the new one applies)
     * @param cost units to take, at least 1 (a request: 1; tokens: the estimate)
     */
    RateDecision acquire(String key, RateLimit limit, long cost);

    /**
     * Gives back {@code units} taken earlier from {@code key} (a token estimate larger than what was used, a request
     * refused by a later check). A bucket never holds more than its burst; callers give back only what they took.
     */
    void release(String key, RateLimit limit, long units);
}
