package dev.parley.api.limits;

import java.util.List;
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
     * Decides several buckets together, all or nothing, in one step (one round trip to a shared store): the units are
     * taken from every bucket if each has room for its cost, else from none. The same bucket may appear more than
     * once; its costs add up.
     *
     * @param requests the buckets, at least one
     * @return one decision per request, in order. When everything was taken, every decision is allowed. When not,
     *         nothing was taken and every decision is refused: a bucket that had room says so with a zero
     *         {@link RateDecision#retryAfter()}, one that had not carries its own wait (the longest of them is when
     *         the whole request could pass). A degraded answer (store unreachable) is degraded for every bucket.
     * @since 1.2
     */
    List<RateDecision> acquireAll(List<RateRequest> requests);

    /**
     * Takes {@code units} from {@code key} whether or not the bucket has room: what a request used beyond what it was
     * admitted with (tokens counted when an answer ends). The bucket may go into debt, so that later acquires are
     * refused until it has drained below its burst again. Zero units take nothing.
     *
     * @return the bucket after the charge: always allowed; {@link RateDecision#remaining()} is 0 while in debt and
     *         {@link RateDecision#resetAfter()} says when it is whole again
     * @since 1.2
     */
    RateDecision charge(String key, RateLimit limit, long units);

    /**
     * Gives back {@code units} taken earlier from {@code key} (a token estimate larger than what was used, a request
     * refused by a later check). A bucket never holds more than its burst; callers give back only what they took.
     */
    void release(String key, RateLimit limit, long units);
}
