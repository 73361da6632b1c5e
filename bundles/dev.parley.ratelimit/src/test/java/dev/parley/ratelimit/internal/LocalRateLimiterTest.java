package dev.parley.ratelimit.internal;

import static java.time.Duration.ofMillis;
import static java.time.Duration.ofSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.limits.RateDecision;
import dev.parley.api.limits.RateLimit;
import java.time.Duration;
import dev.parley.api.limits.RateRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LocalRateLimiterTest {
    private static final RateLimit TEN_PER_SECOND = RateLimit.of(10, ofSeconds(1));

    private final ManualClock clock = new ManualClock();
    private final LocalRateLimiter limiter = new LocalRateLimiter(clock);

    @Test
    void aFullBucketGivesItsBurstThenOneUnitPerInterval() {
        RateDecision first = limiter.acquire("k", TEN_PER_SECOND, 1);
        assertThat(first).isEqualTo(new RateDecision(true, TEN_PER_SECOND, 9, Duration.ZERO, ofMillis(100), false));
        for (int i = 2; i <= 10; i++) {
            RateDecision d = limiter.acquire("k", TEN_PER_SECOND, 1);
            assertThat(d.allowed()).isTrue();
            assertThat(d.remaining()).isEqualTo(10 - i);
            assertThat(d.resetAfter()).isEqualTo(ofMillis(100L * i));
        }
        RateDecision refused = limiter.acquire("k", TEN_PER_SECOND, 1);
        assertThat(refused).isEqualTo(new RateDecision(false, TEN_PER_SECOND, 0, ofMillis(100), ofSeconds(1), false));

        // Steady state: exactly one unit per interval, never two.
        for (int i = 0; i < 50; i++) {
            clock.advance(ofMillis(100));
            assertThat(limiter.acquire("k", TEN_PER_SECOND, 1).allowed()).isTrue();
            RateDecision next = limiter.acquire("k", TEN_PER_SECOND, 1);
            assertThat(next.allowed()).isFalse();
            assertThat(next.retryAfter()).isEqualTo(ofMillis(100));
        }
        // Part of an interval is not enough.
        clock.advance(ofMillis(60));
        RateDecision early = limiter.acquire("k", TEN_PER_SECOND, 1);
        assertThat(early.allowed()).isFalse();
        assertThat(early.retryAfter()).isEqualTo(ofMillis(40));
        assertThat(early.resetAfter()).isEqualTo(ofMillis(940));
    }

    @Test
    void aBurstSmallerThanTheAmountSpreadsTheRest() {
        RateLimit limit = new RateLimit(10, ofSeconds(1), 3);
        assertThat(limiter.acquire("k", limit, 1).remaining()).isEqualTo(2);
        assertThat(limiter.acquire("k", limit, 1).remaining()).isEqualTo(1);
        RateDecision third = limiter.acquire("k", limit, 1);
        assertThat(third.allowed()).isTrue();
        assertThat(third.remaining()).isZero();
        assertThat(third.resetAfter()).isEqualTo(ofMillis(300));
        RateDecision fourth = limiter.acquire("k", limit, 1);
        assertThat(fourth).isEqualTo(new RateDecision(false, limit, 0, ofMillis(100), ofMillis(300), false));
        clock.advance(ofMillis(100));
        assertThat(limiter.acquire("k", limit, 1).allowed()).isTrue();
    }

    @Test
    void aCostTakesThatManyIntervals() {
        RateDecision four = limiter.acquire("tokens", TEN_PER_SECOND, 4);
        assertThat(four).isEqualTo(new RateDecision(true, TEN_PER_SECOND, 6, Duration.ZERO, ofMillis(400), false));
        RateDecision seven = limiter.acquire("tokens", TEN_PER_SECOND, 7);
        assertThat(seven).isEqualTo(new RateDecision(false, TEN_PER_SECOND, 6, ofMillis(100), ofMillis(400), false));
        // The refusal took nothing: six still fit.
        clock.advance(ofMillis(99));
        assertThat(limiter.acquire("tokens", TEN_PER_SECOND, 7).allowed()).isFalse();
        clock.advance(ofMillis(1));
        RateDecision later = limiter.acquire("tokens", TEN_PER_SECOND, 7);
        assertThat(later).isEqualTo(new RateDecision(true, TEN_PER_SECOND, 0, Duration.ZERO, ofSeconds(1), false));
    }

    @Test
    void aCostAboveTheBurstIsNeverAllowed() {
        RateLimit limit = new RateLimit(10, ofSeconds(1), 5);
        RateDecision d = limiter.acquire("k", limit, 6);
        assertThat(d.allowed()).isFalse();
        assertThat(d.retryAfter()).isEqualTo(ofMillis(100));
        clock.advance(ofSeconds(10));
        assertThat(limiter.acquire("k", limit, 6).allowed()).isFalse();
        assertThat(limiter.acquire("k", limit, 5).allowed()).isTrue();
    }

    @Test
    void aChangedLimitAppliesToTheBucketAsItIs() {
        limiter.acquire("k", TEN_PER_SECOND, 5); // TAT 500 ms ahead
        RateLimit fivePerSecond = RateLimit.of(5, ofSeconds(1)); // interval 200 ms, tolerance 1 s
        RateDecision a = limiter.acquire("k", fivePerSecond, 1);
        assertThat(a).isEqualTo(new RateDecision(true, fivePerSecond, 1, Duration.ZERO, ofMillis(700), false));
        RateDecision b = limiter.acquire("k", fivePerSecond, 1);
        assertThat(b).isEqualTo(new RateDecision(true, fivePerSecond, 0, Duration.ZERO, ofMillis(900), false));
        RateDecision c = limiter.acquire("k", fivePerSecond, 1);
        assertThat(c).isEqualTo(new RateDecision(false, fivePerSecond, 0, ofMillis(100), ofMillis(900), false));

        // A tighter burst than the bucket's current debt: refused until it has drained below the new tolerance.
        RateLimit tight = new RateLimit(10, ofSeconds(1), 2); // tolerance 200 ms; TAT is 900 ms ahead
        RateDecision d = limiter.acquire("k", tight, 1);
        assertThat(d).isEqualTo(new RateDecision(false, tight, 0, ofMillis(800), ofMillis(900), false));
        clock.advance(ofMillis(800));
        assertThat(limiter.acquire("k", tight, 1).allowed()).isTrue();
    }

    @Test
    void releaseGivesUnitsBackButNeverOverfills() {
        for (int i = 0; i < 10; i++) {
            limiter.acquire("k", TEN_PER_SECOND, 1);
        }
        limiter.release("k", TEN_PER_SECOND, 3);
        RateDecision d = limiter.acquire("k", TEN_PER_SECOND, 1);
        assertThat(d).isEqualTo(new RateDecision(true, TEN_PER_SECOND, 2, Duration.ZERO, ofMillis(800), false));

        limiter.acquire("other", TEN_PER_SECOND, 2);
        limiter.release("other", TEN_PER_SECOND, 50);
        assertThat(admitted("other", TEN_PER_SECOND, 100)).isEqualTo(10);
        // Release on a bucket never used, and of nothing, change nothing either.
        limiter.release("unused", TEN_PER_SECOND, 5);
        limiter.release("other", TEN_PER_SECOND, 0);
        assertThat(admitted("unused", TEN_PER_SECOND, 100)).isEqualTo(10);
        assertThat(limiter.acquire("other", TEN_PER_SECOND, 1).allowed()).isFalse();
    }

    @Test
    void fullBucketsAreEvictedAndBusyOnesKept() {
        RateLimit perMinute = RateLimit.of(100, Duration.ofMinutes(1)); // interval 600 ms
        for (int i = 0; i < 10_000; i++) {
            limiter.acquire("user:" + i, perMinute, 1);
        }
        for (int i = 0; i < 100; i++) {
            limiter.acquire("busy", perMinute, 1);
        }
        assertThat(limiter.size()).isEqualTo(10_001);

        clock.advance(ofMillis(600)); // the one-unit buckets are full again; "busy" is 59.4 s in debt
        limiter.evictFull();
        assertThat(limiter.size()).isEqualTo(1);
        RateDecision busy = limiter.acquire("busy", perMinute, 1);
        assertThat(busy.allowed()).isTrue(); // one interval has passed: one unit, no more
        assertThat(limiter.acquire("busy", perMinute, 1).allowed()).isFalse();
    }

    @Test
    void acquiresSweepOnTheirOwn() {
        RateLimit perSecond = RateLimit.of(1, ofSeconds(1));
        for (int i = 0; i < LocalRateLimiter.SWEEP_EVERY - 1; i++) {
            limiter.acquire("key:" + i, perSecond, 1);
        }
        assertThat(limiter.size()).isEqualTo(LocalRateLimiter.SWEEP_EVERY - 1);
        clock.advance(ofSeconds(1));
        // The acquire that completes the count sweeps before it takes its own unit.
        limiter.acquire("last", perSecond, 1);
        assertThat(limiter.size()).isEqualTo(1);
    }

    @Test
    void badInputIsRefused() {
        assertThatThrownBy(() -> limiter.acquire(" ", TEN_PER_SECOND, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("blank");
        assertThatThrownBy(() -> limiter.acquire("x".repeat(513), TEN_PER_SECOND, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("512");
        assertThat(limiter.acquire("x".repeat(512), TEN_PER_SECOND, 1).allowed()).isTrue();
        assertThatThrownBy(() -> limiter.acquire("k", TEN_PER_SECOND, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cost");
        assertThatThrownBy(() -> limiter.acquire("k", TEN_PER_SECOND, -3)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> limiter.acquire(null, TEN_PER_SECOND, 1)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> limiter.acquire("k", null, 1)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> limiter.release("k", TEN_PER_SECOND, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> limiter.release("", TEN_PER_SECOND, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThat(limiter.size()).isEqualTo(1);
    }

    @Test
    void concurrentCallersOnOneKeyTakeExactlyTheLimit() throws Exception {
        RateLimit limit = RateLimit.of(5_000, Duration.ofHours(1));
        int threads = 8;
        int attemptsEach = 20_000;
        var admitted = new AtomicLong();
        var units = new AtomicLong();
        var start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            var futures = new ArrayList<Future<?>>();
            for (int t = 0; t < threads; t++) {
                int cost = t % 2 == 0 ? 1 : 3;
                futures.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < attemptsEach; i++) {
                        if (limiter.acquire("shared", limit, cost).allowed()) {
                            admitted.incrementAndGet();
                            units.addAndGet(cost);
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        // No unit more than the burst, and not one less than fits: once fewer than 3 remain only cost-1 callers
        // get through, so the bucket is drained to the last unit.
        assertThat(units.get()).isEqualTo(5_000);
        assertThat(admitted.get()).isBetween(5_000L / 3, 5_000L);
        assertThat(limiter.acquire("shared", limit, 1).allowed()).isFalse();
    }

    @Test
    void concurrentCallersAsTheClockMovesTakeTheBurstPlusWhatCameBack() throws Exception {
        RateLimit limit = new RateLimit(1_000, ofSeconds(1), 100); // one unit per millisecond
        int threads = 4;
        var admitted = new AtomicLong();
        var start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
        try {
            var futures = new ArrayList<Future<?>>();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < 50_000; i++) {
                        if (limiter.acquire("moving", limit, 1).allowed()) {
                            admitted.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            futures.add(pool.submit(() -> {
                start.await();
                for (int i = 0; i < 500; i++) {
                    clock.advance(ofMillis(1));
                    Thread.onSpinWait();
                }
                return null;
            }));
            start.countDown();
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        // 500 ms passed: at most the burst plus 500 units came back (fewer if the callers were done before the end).
        assertThat(admitted.get()).isBetween(100L, 600L);
    }

    @Test
    void aChargeGoesIntoDebtAndRefusesUntilItHasDrained() {
        RateLimit tokens = RateLimit.of(1_000, ofSeconds(60)); // one token per 60 ms
        // Admitted on an estimate of 100, the answer used 2,500: the 2,400 more are charged whatever the bucket holds.
        assertThat(limiter.acquire("tokens", tokens, 100).allowed()).isTrue();
        RateDecision charged = limiter.charge("tokens", tokens, 2_400);
        assertThat(charged.allowed()).isTrue();
        assertThat(charged.remaining()).isZero();
        assertThat(charged.resetAfter()).isEqualTo(ofSeconds(150)); // 2,500 tokens × 60 ms
        // In debt by 1,500 tokens (90 s): even one token waits until the debt is paid and one more has come back.
        RateDecision refused = limiter.acquire("tokens", tokens, 1);
        assertThat(refused.allowed()).isFalse();
        assertThat(refused.retryAfter()).isEqualTo(ofMillis(90_060));
        clock.advance(ofSeconds(90));
        assertThat(limiter.acquire("tokens", tokens, 1).allowed()).isFalse();
        clock.advance(ofMillis(60));
        RateDecision back = limiter.acquire("tokens", tokens, 1);
        assertThat(back.allowed()).isTrue();
        assertThat(back.remaining()).isZero();
        // A charge of nothing changes nothing; a release pays debt back (an estimate that was too high).
        assertThat(limiter.charge("tokens", tokens, 0).resetAfter()).isEqualTo(ofSeconds(60));
        limiter.release("tokens", tokens, 500);
        assertThat(limiter.acquire("tokens", tokens, 500).remaining()).isZero();
        assertThatThrownBy(() -> limiter.charge("tokens", tokens, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void severalBucketsAreTakenAllOrNothing() {
        RateLimit tight = RateLimit.of(2, ofSeconds(1));
        RateLimit loose = RateLimit.of(10, ofSeconds(1));
        List<RateRequest> both = List.of(new RateRequest("key", loose, 1), new RateRequest("tenant", tight, 1));
        assertThat(limiter.acquireAll(both)).extracting(RateDecision::allowed).containsExactly(true, true);
        List<RateDecision> second = limiter.acquireAll(both);
        assertThat(second).extracting(RateDecision::remaining).containsExactly(8L, 0L);
        List<RateDecision> refused = limiter.acquireAll(both);
        // Nothing taken: the key's bucket had room (zero wait, 8 left), the tenant's had not (500 ms).
        assertThat(refused).containsExactly(
                new RateDecision(false, loose, 8, Duration.ZERO, ofMillis(200), false),
                new RateDecision(false, tight, 0, ofMillis(500), ofSeconds(1), false));
        assertThat(limiter.acquire("key", loose, 8).remaining()).isZero();

        // A key named twice: its costs add up, and the pair fails together.
        List<RateRequest> twice = List.of(new RateRequest("t2", tight, 1), new RateRequest("t2", tight, 2));
        List<RateDecision> d = limiter.acquireAll(twice);
        assertThat(d).extracting(RateDecision::allowed).containsExactly(false, false);
        assertThat(d.get(0).retryAfter()).isZero();
        assertThat(d.get(1).retryAfter()).isEqualTo(ofMillis(500));
        assertThat(limiter.acquire("t2", tight, 2).allowed()).isTrue();

        assertThatThrownBy(() -> limiter.acquireAll(List.of())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> limiter.acquireAll(List.of(new RateRequest(" ", tight, 1))))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void concurrentMultiBucketCallersNeverTakeOneBucketWithoutTheOther() throws Exception {
        // The tenant's bucket is the tight one; every unit the key's bucket lost must be one the tenant's lost too.
        RateLimit tenant = RateLimit.of(3_000, Duration.ofHours(1));
        RateLimit key = RateLimit.of(100_000, Duration.ofHours(1));
        int threads = 8;
        var admitted = new AtomicLong();
        var start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            var futures = new ArrayList<Future<?>>();
            for (int t = 0; t < threads; t++) {
                String own = "key:" + (t % 2);
                futures.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < 5_000; i++) {
                        // Both orders, so that stripe ordering (not call order) is what prevents deadlock.
                        List<RateRequest> rs = i % 2 == 0
                                ? List.of(new RateRequest(own, key, 1), new RateRequest("tenant", tenant, 1))
                                : List.of(new RateRequest("tenant", tenant, 1), new RateRequest(own, key, 1));
                        if (limiter.acquireAll(rs).get(0).allowed()) {
                            admitted.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(admitted.get()).isEqualTo(3_000);
        long keyTaken = 2 * 100_000 - limiter.acquire("key:0", key, 1).remaining() - limiter.acquire("key:1", key, 1)
                .remaining() - 2;
        assertThat(keyTaken).isEqualTo(3_000);
    }

    private int admitted(String key, RateLimit limit, int attempts) {
        int n = 0;
        for (int i = 0; i < attempts; i++) {
            if (limiter.acquire(key, limit, 1).allowed()) {
                n++;
            }
        }
        return n;
    }
}
