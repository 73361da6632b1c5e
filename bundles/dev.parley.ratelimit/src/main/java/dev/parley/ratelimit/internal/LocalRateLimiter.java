package dev.parley.ratelimit.internal;

import dev.parley.api.limits.RateDecision;
import dev.parley.api.limits.RateLimit;
import dev.parley.api.limits.RateLimiter;
import dev.parley.api.limits.RateRequest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * GCRA in this process: one TAT (nanoseconds on the injected clock) per bucket in a {@link ConcurrentHashMap}. Every
 * change to a bucket happens under the lock of its stripe (one of {@value #STRIPES}, by the name's hash), so a
 * multi-bucket acquire can hold the stripes of all its buckets at once (taken in ascending order: no deadlock) and
 * decide them in one step, all or nothing; a single acquire holds one stripe for a few arithmetic operations. A
 * refusal writes nothing.
 *
 * <p>Memory stays bounded: a bucket whose TAT is not ahead of now is full, the same as no entry at all, so it is
 * removed. Every {@value #SWEEP_EVERY} acquires, one caller sweeps the map and removes such entries (a conditional
 * remove, which needs no stripe: a bucket changed meanwhile stays, and one removed between a writer's read and write
 * was full, which the writer's arithmetic treats the same as absent). An entry lives at most one period of its limit
 * after its last acquire (the tolerance is at most the period), plus any debt a charge put on it.
 */
final class LocalRateLimiter implements RateLimiter {
    static final int SWEEP_EVERY = 4096;
    static final int STRIPES = 64;

    private final ConcurrentHashMap<String, Long> buckets = new ConcurrentHashMap<>();
    private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
    private final LongSupplier nanoTime;
    private final AtomicLong acquires = new AtomicLong();
    private final AtomicBoolean sweeping = new AtomicBoolean();

    /** @param nanoTime a monotonic clock in nanoseconds ({@code System::nanoTime}; a manual one in tests) */
    LocalRateLimiter(LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantLock();
        }
    }

    @Override
    public RateDecision acquire(String key, RateLimit limit, long cost) {
        Gcra.checkAcquire(key, limit, cost);
        sweepNow();
        ReentrantLock lock = stripe(key);
        lock.lock();
        try {
            long now = nanoTime.getAsLong();
            Gcra.Step step = Gcra.acquire(limit, cost, ahead(key, now));
            if (step.decision().allowed()) {
                keep(key, now, step.aheadAfter());
            }
            return step.decision();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public List<RateDecision> acquireAll(List<RateRequest> requests) {
        Gcra.checkAcquireAll(requests);
        sweepNow();
        TreeSet<Integer> held = new TreeSet<>();
        for (RateRequest r : requests) {
            held.add(stripeIndex(r.key()));
        }
        for (int i : held) {
            stripes[i].lock();
        }
        try {
            long now = nanoTime.getAsLong();
            Map<String, Double> ahead = new HashMap<>();
            for (RateRequest r : requests) {
                ahead.put(r.key(), ahead(r.key(), now));
            }
            List<RateDecision> decisions = Gcra.acquireAll(requests, ahead);
            if (decisions.get(0).allowed()) {
                ahead.forEach((key, a) -> keep(key, now, a));
            }
            return decisions;
        } finally {
            for (int i : held.descendingSet()) {
                stripes[i].unlock();
            }
        }
    }

    @Override
    public RateDecision charge(String key, RateLimit limit, long units) {
        Gcra.checkRelease(key, limit, units);
        ReentrantLock lock = stripe(key);
        lock.lock();
        try {
            long now = nanoTime.getAsLong();
            Gcra.Step step = Gcra.charge(limit, units, ahead(key, now));
            keep(key, now, step.aheadAfter());
            return step.decision();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void release(String key, RateLimit limit, long units) {
        Gcra.checkRelease(key, limit, units);
        if (units == 0) {
            return;
        }
        ReentrantLock lock = stripe(key);
        lock.lock();
        try {
            long now = nanoTime.getAsLong();
            if (buckets.containsKey(key)) {
                keep(key, now, Gcra.release(limit, units, ahead(key, now)));
            }
        } finally {
            lock.unlock();
        }
    }

    /** How far the bucket's TAT is ahead of {@code now}; 0 or less: full. */
    private double ahead(String key, long now) {
        Long tat = buckets.get(key);
        return tat == null ? 0 : tat - now;
    }

    /** Stores the bucket's TAT {@code ahead} nanoseconds after {@code now}, or drops a full bucket. */
    private void keep(String key, long now, double ahead) {
        if (ahead <= 0) {
            buckets.remove(key);
        } else {
            buckets.put(key, now + (long) Math.ceil(ahead));
        }
    }

    private int stripeIndex(String key) {
        return Math.floorMod(key.hashCode() ^ (key.hashCode() >>> 16), STRIPES);
    }

    private ReentrantLock stripe(String key) {
        return stripes[stripeIndex(key)];
    }

    private void sweepNow() {
        if (acquires.incrementAndGet() % SWEEP_EVERY == 0) {
            evictFull();
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
