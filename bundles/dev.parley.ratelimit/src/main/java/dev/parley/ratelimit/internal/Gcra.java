package dev.parley.ratelimit.internal;

import dev.parley.api.limits.RateDecision;
import dev.parley.api.limits.RateLimit;
import dev.parley.api.limits.RateRequest;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The generic cell rate algorithm on one bucket, in nanoseconds. A bucket is its theoretical arrival time (TAT): the
 * time at which it would be full again. With emission interval {@code T = period / amount} and tolerance
 * {@code τ = T × burst}, a request of cost {@code n} moves TAT to {@code max(TAT, now) + n·T} and is allowed when that
 * is at most {@code τ} ahead of now. Both stores keep only "how far TAT is ahead of now" per bucket, so the same
 * arithmetic serves the in-process store (the JVM's clock) and the Redis script (the server's clock).
 */
final class Gcra {
    /** The longest bucket name {@link dev.parley.api.limits.RateLimiter} accepts. */
    static final int MAX_KEY_LENGTH = 512;
    /** Float slack when comparing against the tolerance or dividing by the interval: far below one unit. */
    private static final double EPSILON = 1e-6;

    private Gcra() {
    }

    /** Checks the arguments of an acquire; throws what the API's callers would expect of any implementation. */
    static void checkAcquire(String key, RateLimit limit, long cost) {
        checkKey(key);
        Objects.requireNonNull(limit, "limit");
        if (cost < 1) {
            throw new IllegalArgumentException("cost must be at least 1");
        }
    }

    /** Checks a multi-bucket acquire: at least one bucket, each a valid acquire. */
    static void checkAcquireAll(List<RateRequest> requests) {
        Objects.requireNonNull(requests, "requests");
        if (requests.isEmpty()) {
            throw new IllegalArgumentException("requests must name at least one bucket");
        }
        for (RateRequest r : requests) {
            Objects.requireNonNull(r, "request");
            checkAcquire(r.key(), r.limit(), r.cost());
        }
    }

    /** Checks the arguments of a release or a charge; nothing is allowed (an estimate that was exact). */
    static void checkRelease(String key, RateLimit limit, long units) {
        checkKey(key);
        Objects.requireNonNull(limit, "limit");
        if (units < 0) {
            throw new IllegalArgumentException("units must not be negative");
        }
    }

    private static void checkKey(String key) {
        Objects.requireNonNull(key, "key");
        if (key.isBlank()) {
            throw new IllegalArgumentException("key must not be blank");
        }
        if (key.length() > MAX_KEY_LENGTH) {
            throw new IllegalArgumentException("key must be at most " + MAX_KEY_LENGTH + " characters");
        }
    }

    /** {@code period / amount} in nanoseconds. */
    static double intervalNanos(RateLimit limit) {
        return (double) limit.period().toNanos() / limit.amount();
    }

    /** {@code interval × burst} in nanoseconds: how far TAT may run ahead of now. */
    static double toleranceNanos(RateLimit limit) {
        return intervalNanos(limit) * limit.burst();
    }

    /**
     * One acquire on a bucket whose TAT is {@code ahead} nanoseconds ahead of now (0 for a full bucket).
     *
     * @return the decision and how far ahead TAT is afterwards (unchanged when refused)
     */
    static Step acquire(RateLimit limit, long cost, double ahead) {
        double current = Math.max(0, ahead);
        double next = current + cost * intervalNanos(limit);
        boolean allowed = next <= toleranceNanos(limit) + EPSILON;
        return new Step(decision(limit, allowed, allowed ? next : current, next), allowed ? next : current);
    }

    /** One charge: the units are taken whatever the bucket holds, so TAT may run past the tolerance (debt). */
    static Step charge(RateLimit limit, long units, double ahead) {
        double next = Math.max(0, ahead) + units * intervalNanos(limit);
        return new Step(decision(limit, true, next, next), next);
    }

    /**
     * A multi-bucket acquire on buckets whose TATs are {@code ahead.get(key)} nanoseconds ahead of now (absent: full).
     * Every bucket is stepped in order (a key named twice sees its earlier cost); if all fit, the decisions are
     * allowed and {@code ahead} holds each bucket's TAT afterwards, else nothing changes in {@code ahead} and each
     * decision is refused with the bucket as it is, a bucket that had room with a zero wait.
     */
    static List<RateDecision> acquireAll(List<RateRequest> requests, java.util.Map<String, Double> ahead) {
        var pending = new java.util.HashMap<String, Double>();
        var before = new double[requests.size()];
        var after = new double[requests.size()];
        boolean all = true;
        for (int i = 0; i < requests.size(); i++) {
            RateRequest r = requests.get(i);
            double current = Math.max(0, pending.getOrDefault(r.key(), ahead.getOrDefault(r.key(), 0.0)));
            double next = current + r.cost() * intervalNanos(r.limit());
            all &= next <= toleranceNanos(r.limit()) + EPSILON;
            before[i] = current;
            after[i] = next;
            pending.put(r.key(), next);
        }
        var decisions = new java.util.ArrayList<RateDecision>(requests.size());
        for (int i = 0; i < requests.size(); i++) {
            RateLimit limit = requests.get(i).limit();
            decisions.add(all ? decision(limit, true, after[i], after[i]) : decision(limit, false, before[i], after[i]));
        }
        if (all) {
            ahead.putAll(pending);
        }
        return decisions;
    }

    /** How far TAT is ahead after giving back {@code units}: never behind now, so the bucket never holds more than its burst. */
    static double release(RateLimit limit, long units, double ahead) {
        return Math.max(0, Math.max(0, ahead) - units * intervalNanos(limit));
    }

    /**
     * The decision for a bucket whose TAT is {@code aheadAfter} ahead of now after the call, where taking the units
     * would have put it {@code aheadIfTaken} ahead.
     */
    static RateDecision decision(RateLimit limit, boolean allowed, double aheadAfter, double aheadIfTaken) {
        double interval = intervalNanos(limit);
        double tolerance = toleranceNanos(limit);
        long remaining = (long) Math.floor((tolerance - aheadAfter) / interval + EPSILON);
        Duration retryAfter = allowed ? Duration.ZERO : nanos(aheadIfTaken - tolerance);
        return new RateDecision(allowed, limit, Math.max(0, remaining), retryAfter, nanos(aheadAfter), false);
    }

    /** The decision when the store could not be asked: the fail mode decides; nothing is known of the bucket. */
    static RateDecision degraded(RateLimit limit, boolean failOpen) {
        return failOpen
                ? new RateDecision(true, limit, 0, Duration.ZERO, Duration.ZERO, true)
                : new RateDecision(false, limit, 0, Duration.ofSeconds(1), Duration.ofSeconds(1), true);
    }

    private static Duration nanos(double nanos) {
        return nanos <= 0 ? Duration.ZERO : Duration.ofNanos((long) Math.ceil(nanos - EPSILON));
    }

    /** An acquire's decision and the bucket's TAT afterwards, relative to now. */
    record Step(RateDecision decision, double aheadAfter) {
    }
}
