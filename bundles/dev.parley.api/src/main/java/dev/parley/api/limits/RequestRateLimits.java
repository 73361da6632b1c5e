package dev.parley.api.limits;

import dev.parley.api.identity.Principal;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The request limits the edge applies per credential, user and tenant, for requests that do not come one per HTTP
 * request: each chat message a WebSocket sends after its upgrade counts as a request against the same buckets.
 *
 * @since 1.2
 */
@ProviderType
public interface RequestRateLimits {
    /**
     * Takes one request from every request bucket of {@code caller} (its credential's, its user's, its tenant's), all
     * or nothing.
     *
     * @throws RateLimitedException when a bucket has no room (nothing is taken), with the longest wait
     * @throws dev.parley.api.error.ParleyException {@code UNAVAILABLE} when the limiter cannot reach its store and its
     *                                              fail mode is closed
     */
    void acquire(Principal caller);
}
