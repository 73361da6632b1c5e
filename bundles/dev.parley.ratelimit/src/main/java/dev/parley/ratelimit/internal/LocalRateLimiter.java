package dev.parley.ratelimit.internal;

import dev.parley.api.limits.RateDecision;
import dev.parley.api.limits.RateLimit;
import dev.parley.api.limits.RateLimiter;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * GCRA in this process: one TAT (nanoseconds on the injected clock) per bucket in a {@link ConcurrentHashMap},
 * updated by compare-and-set ({@code putIfAbsent}/{@code replace(key, old, new)}), so concurrent callers never take
 * more than the limit allows and nobody waits on a lock held across the arithmetic. A refusal writes nothing.
 *
 * <p>Memory stays bounded: a bucket whose TAT is not ahead of now is full, the same as no entry at all, so it is
 * removed. Every {@value #SWEEP_EVERY} acquires, one caller sweeps the map and removes such entries (a conditional
 * remove, so a bucket updated meanwhile stays). An entry lives at most one period of its limit after its last acquire
 * (the tolerance is at most the period), so the map holds about the buckets used within the longest period, plus
 * those touched since the last sweep.
 */
final class LocalRateLimiter implements RateLimiter {
    static final int SWEEP_EVERY = 4096;

    private final ConcurrentHashMap<String, Long> buckets = new ConcurrentHashMap<>();
    private final LongSupplier nanoTime;
    private final AtomicLong acquires = new AtomicLong();
    private final AtomicBoolean sweeping = new AtomicBoolean();

    /** @param nanoTime a monotonic clock in nanoseconds ({@code System::nanoTime}; a manual one in tests) */
    LocalRateLimiter(LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
    }

    @Override
    public RateDecision acquire(String key, RateLimit limit, long cost) {
        Gcra.checkAcquire(key, limit, cost);
        if (acquires.incrementAndGet() % SWEEP_EVERY == 0) {
            evictFull();
        }
        while (true) {
            long now = nanoTime.getAsLong();
            Long tat = buckets.get(key);
            Gcra.Step step = Gcra.acquire(limit, cost, tat == null ? 0 : tat - now);
            if (!step.decision().allowed()) {
                return step.decision();
            }
            Long next = now + (long) Math.ceil(step.aheadAfter());
            if (tat == null ? buckets.putIfAbsent(key, next) == null : buckets.replace(key, tat, next)) {
                return step.decision();
            }
        }
    }

    @Override
    public void release(String key, RateLimit limit, long units) {
        Gcra.checkRelease(key, limit, units);
        if (units == 0) {
            return;
        }
        while (true) {
            long now = nanoTime.getAsLong();
            Long tat = buckets.get(key);
            if (tat == null || tat <= now) {
                return; // already full
            }
            double ahead = Gcra.release(limit, units, tat - now);
            boolean done = ahead <= 0 ? buckets.remove(key, tat)
                    : buckets.replace(key, tat, now + (long) Math.ceil(ahead));
            if (done) {
                return;
            }
        }
    }

    /** Removes the buckets that are full again; one sweep at a time, run by the caller that triggers it. */
    void evictFull() {
        if (!sweeping.compareAndSet(false, true)) {
            return;
        }
        try {
            long now = nanoTime.getAsLong();
            buckets.forEach((key, tat) -> {
                if (tat <= now) {
                    buckets.remove(key, tat);
                }
            });
        } finally {
            sweeping.set(false);
        }
    }

    /** Buckets held, for tests and health. */
    int size() {
        return buckets.size();
    }
}
