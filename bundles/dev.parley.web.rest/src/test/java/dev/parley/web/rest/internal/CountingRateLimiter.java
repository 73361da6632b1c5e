package dev.parley.web.rest.internal;

import dev.parley.api.limits.RateDecision;
import dev.parley.api.limits.RateLimit;
import dev.parley.api.limits.RateLimiter;
import dev.parley.api.limits.RateRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A limiter whose buckets never refill, so that what the edge does with its answers is decided by the test and not
 * by the clock: a bucket allows {@code burst} units, then refuses with {@code retryAfter} = one emission interval
 * ({@code period / amount}). {@link #down} makes it answer as a limiter that cannot reach its shared store does.
 */
final class CountingRateLimiter implements RateLimiter {
    enum Store { UP, DOWN_FAIL_OPEN, DOWN_FAIL_CLOSED }

    private final Map<String, Long> taken = new ConcurrentHashMap<>();
    /** Every acquire, in order: the bucket's name. */
    final List<String> acquired = new CopyOnWriteArrayList<>();
    volatile Store store = Store.UP;
    /** Multi-bucket calls made: one per limited request. */
    volatile int acquireAllCalls;

    void down(Store s) {
        store = s;
    }

    long taken(String key) {
        return taken.getOrDefault(key, 0L);
    }

    @Override
    public synchronized RateDecision acquire(String key, RateLimit limit, long cost) {
        acquired.add(key);
        Duration interval = limit.period().dividedBy(limit.amount());
        switch (store) {
        case DOWN_FAIL_OPEN:
            return new RateDecision(true, limit, 0, Duration.ZERO, Duration.ZERO, true);
        case DOWN_FAIL_CLOSED:
            return new RateDecision(false, limit, 0, Duration.ofSeconds(1), Duration.ofSeconds(1), true);
        default:
            long now = taken(key);
            if (now + cost > limit.burst()) {
                return new RateDecision(false, limit, limit.burst() - now,
                        interval.multipliedBy(now + cost - limit.burst()), interval.multipliedBy(now), false);
            }
            taken.put(key, now + cost);
            return new RateDecision(true, limit, limit.burst() - now - cost, Duration.ZERO,
                    interval.multipliedBy(now + cost), false);
        }
    }

    /** All or nothing, as the real limiter: each bucket is asked; if one refuses, what the others took goes back. */
    @Override
    public synchronized List<RateDecision> acquireAll(List<RateRequest> requests) {
        acquireAllCalls++;
        List<RateDecision> out = new ArrayList<>();
        for (RateRequest r : requests) {
            out.add(acquire(r.key(), r.limit(), r.cost()));
        }
        if (out.stream().allMatch(RateDecision::allowed)) {
            return out;
        }
        List<RateDecision> refused = new ArrayList<>();
        for (int i = 0; i < out.size(); i++) {
            RateDecision d = out.get(i);
            if (d.allowed() && !d.degraded()) {
                release(requests.get(i).key(), requests.get(i).limit(), requests.get(i).cost());
                d = new RateDecision(false, d.limit(), d.remaining() + requests.get(i).cost(), Duration.ZERO,
                        d.resetAfter(), false);
            }
            refused.add(d);
        }
        return refused;
    }

    @Override
    public synchronized RateDecision charge(String key, RateLimit limit, long units) {
        long now = taken.merge(key, units, Long::sum);
        Duration interval = limit.period().dividedBy(limit.amount());
        return new RateDecision(true, limit, Math.max(0, limit.burst() - now), Duration.ZERO,
                interval.multipliedBy(now), false);
    }

    @Override
    public synchronized void release(String key, RateLimit limit, long units) {
        taken.merge(key, -units, Long::sum);
    }
}
