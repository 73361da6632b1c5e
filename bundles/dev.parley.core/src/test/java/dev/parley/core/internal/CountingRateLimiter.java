package dev.parley.core.internal;

import dev.parley.api.limits.RateDecision;
import dev.parley.api.limits.RateLimit;
import dev.parley.api.limits.RateLimiter;
import dev.parley.api.limits.RateRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A limiter whose buckets never refill, so that what core does with its answers is decided by the test and not by
 * the clock: a bucket holds {@code burst} units; a refusal waits one emission interval per unit missing. The GCRA
 * arithmetic itself is tested in the rate limiter's bundle.
 */
final class CountingRateLimiter implements RateLimiter {
    private final Map<String, Long> taken = new ConcurrentHashMap<>();
    volatile int calls;

    long taken(String key) {
        return taken.getOrDefault(key, 0L);
    }

    @Override
    public synchronized RateDecision acquire(String key, RateLimit limit, long cost) {
        return acquireAll(List.of(new RateRequest(key, limit, cost))).get(0);
    }

    @Override
    public synchronized List<RateDecision> acquireAll(List<RateRequest> requests) {
        calls++;
        boolean all = true;
        for (RateRequest r : requests) {
            all &= taken(r.key()) + r.cost() <= r.limit().burst();
        }
        List<RateDecision> out = new ArrayList<>();
        for (RateRequest r : requests) {
            long now = taken(r.key());
            Duration interval = r.limit().period().dividedBy(r.limit().amount());
            if (all) {
                taken.put(r.key(), now + r.cost());
                out.add(new RateDecision(true, r.limit(), r.limit().burst() - now - r.cost(), Duration.ZERO,
                        interval.multipliedBy(now + r.cost()), false));
            } else {
                long missing = Math.max(0, now + r.cost() - r.limit().burst());
                out.add(new RateDecision(false, r.limit(), Math.max(0, r.limit().burst() - now),
                        interval.multipliedBy(missing), interval.multipliedBy(now), false));
            }
        }
        return out;
    }

    @Override
    public synchronized RateDecision charge(String key, RateLimit limit, long units) {
        long now = taken.merge(key, units, Long::sum);
        return new RateDecision(true, limit, Math.max(0, limit.burst() - now), Duration.ZERO, Duration.ZERO, false);
    }

    @Override
    public synchronized void release(String key, RateLimit limit, long units) {
        taken.merge(key, -units, Long::sum);
    }
}
