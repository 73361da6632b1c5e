package dev.parley.ratelimit.internal;

import static java.time.Duration.ofMillis;
import static java.time.Duration.ofSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import dev.parley.api.limits.RateDecision;
import dev.parley.api.limits.RateLimit;
import dev.parley.api.limits.RateRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** GCRA in the local Redis server (127.0.0.1:6379), under a key prefix of its own that it deletes afterwards. */
class RedisRateLimiterTest {
    private static final RateLimit TEN_PER_HOUR = RateLimit.of(10, Duration.ofHours(1)); // one unit per 6 minutes

    private final RedisTestSupport redis = new RedisTestSupport();
    private final List<RedisRateLimiter> limiters = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        limiters.forEach(RedisRateLimiter::close);
        redis.close();
    }

    private RedisRateLimiter limiter(Duration timeout) {
        var limiter = new RedisRateLimiter(RedisTestSupport.URI, "", redis.prefix, true, timeout);
        limiters.add(limiter);
        // The connection opens in the background.
        await().atMost(ofSeconds(10)).until(limiter::probe);
        return limiter;
    }

    @Test
    void theScriptDecidesAsTheInProcessStoreDoes() {
        RedisRateLimiter limiter = limiter(ofSeconds(1));
        for (int i = 1; i <= 10; i++) {
            RateDecision d = limiter.acquire("k", TEN_PER_HOUR, 1);
            assertThat(d.allowed()).isTrue();
            assertThat(d.degraded()).isFalse();
            assertThat(d.remaining()).isEqualTo(10 - i);
            // Redis time moves on while the test runs: the reset is i intervals minus at most a few seconds.
            assertThat(d.resetAfter()).isBetween(Duration.ofMinutes(6L * i).minusSeconds(5), Duration.ofMinutes(6L * i));
        }
        RateDecision refused = limiter.acquire("k", TEN_PER_HOUR, 1);
        assertThat(refused.allowed()).isFalse();
        assertThat(refused.remaining()).isZero();
        assertThat(refused.retryAfter()).isBetween(Duration.ofMinutes(6).minusSeconds(5), Duration.ofMinutes(6));
        // The key expires when the bucket is full again.
        long ttl = redis.commands().pttl(redis.prefix + "k");
        assertThat((double) ttl).isCloseTo(refused.resetAfter().toMillis(), within(5_000.0));
    }

    @Test
    void costsAndReleasesNeverOverfill() {
        RedisRateLimiter limiter = limiter(ofSeconds(1));
        RateDecision four = limiter.acquire("t", TEN_PER_HOUR, 4);
        assertThat(four.allowed()).isTrue();
        assertThat(four.remaining()).isEqualTo(6);
        assertThat(limiter.acquire("t", TEN_PER_HOUR, 7).allowed()).isFalse();
        assertThat(limiter.acquire("t", TEN_PER_HOUR, 6).remaining()).isZero();
        limiter.release("t", TEN_PER_HOUR, 3);
        assertThat(limiter.acquire("t", TEN_PER_HOUR, 3).allowed()).isTrue();
        assertThat(limiter.acquire("t", TEN_PER_HOUR, 1).allowed()).isFalse();

        limiter.release("t", TEN_PER_HOUR, 1_000);
        assertThat(redis.commands().exists(redis.prefix + "t")).isZero(); // full again: nothing left to keep
        int admitted = 0;
        for (int i = 0; i < 30; i++) {
            admitted += limiter.acquire("t", TEN_PER_HOUR, 1).allowed() ? 1 : 0;
        }
        assertThat(admitted).isEqualTo(10);
        assertThat(limiter.acquire("t", new RateLimit(10, Duration.ofHours(1), 5), 6).allowed()).isFalse();
    }

    @Test
    void aFlushedScriptCacheIsRefilledByEval() {
        RedisRateLimiter limiter = limiter(ofSeconds(1));
        assertThat(limiter.acquire("k", TEN_PER_HOUR, 1).remaining()).isEqualTo(9);
        redis.commands().scriptFlush();
        RateDecision d = limiter.acquire("k", TEN_PER_HOUR, 1);
        assertThat(d.degraded()).isFalse();
        assertThat(d.remaining()).isEqualTo(8);
        assertThat(limiter.acquire("k", TEN_PER_HOUR, 1).remaining()).isEqualTo(7);
    }

    @Test
    void badInputNeverReachesRedis() {
        RedisRateLimiter limiter = limiter(ofSeconds(1));
        assertThatThrownBy(() -> limiter.acquire("", TEN_PER_HOUR, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> limiter.acquire("k".repeat(513), TEN_PER_HOUR, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> limiter.acquire("k", TEN_PER_HOUR, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> limiter.release("k", TEN_PER_HOUR, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThat(redis.commands().keys(redis.prefix + "*")).isEmpty();
        assertThat(limiter.acquire("k".repeat(512), TEN_PER_HOUR, 1).allowed()).isTrue();
    }

    @Test
    void twoNodesHammeringTheSameKeysShareOneLimit() throws Exception {
        // Two limiters with a Lettuce client each: two Parley nodes on one Redis.
        RedisRateLimiter nodeA = limiter(ofSeconds(2));
        RedisRateLimiter nodeB = limiter(ofSeconds(2));
        // A rate low enough that even a busy CI machine (two cores, ~1,000 Redis round trips a second) asks for far more
        // than it: the over-admission bound below is only meaningful while the keys are oversubscribed.
        RateLimit limit = new RateLimit(50, ofSeconds(1), 20);
        String[] keys = { "tenant:a", "tenant:b", "model:x" };
        int threadsPerNode = 4;
        long runNanos = TimeUnit.SECONDS.toNanos(3);
        var admitted = new AtomicLongArray(keys.length);
        var degraded = new AtomicLong();
        var calls = new AtomicLong();
        var start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2 * threadsPerNode);
        long began;
        long ended;
        try {
            var futures = new ArrayList<Future<?>>();
            for (int t = 0; t < 2 * threadsPerNode; t++) {
                RedisRateLimiter node = t % 2 == 0 ? nodeA : nodeB;
                int offset = t;
                futures.add(pool.submit(() -> {
                    start.await();
                    long until = System.nanoTime() + runNanos;
                    for (int i = offset; System.nanoTime() < until; i++) {
                        int k = i % keys.length;
                        RateDecision d = node.acquire(keys[k], limit, 1);
                        calls.incrementAndGet();
                        if (d.degraded()) {
                            degraded.incrementAndGet();
                        } else if (d.allowed()) {
                            admitted.incrementAndGet(k);
                        }
                    }
                    return null;
                }));
            }
            began = System.nanoTime();
            start.countDown();
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
            ended = System.nanoTime();
        } finally {
            pool.shutdownNow();
        }
        assertThat(degraded.get()).isZero();
        double seconds = (ended - began) / 1e9;
        // A bucket starts full (the burst) and gets amount/period back; the run lasts at most `seconds` of Redis time.
        double allowance = limit.burst() + limit.amount() * seconds;
        // The runners must have asked for far more than the limit, or the check proves nothing.
        assertThat(calls.get()).as("calls").isGreaterThan((long) (2 * keys.length * allowance));
        for (int k = 0; k < keys.length; k++) {
            assertThat((double) admitted.get(k)).as("admitted on %s of %.0f allowed", keys[k], allowance)
                    .isLessThanOrEqualTo(allowance * 1.01)
                    .isGreaterThanOrEqualTo(allowance * 0.9);
        }
    }

    @Test
    void aChargeGoesIntoDebtInRedisToo() {
        RedisRateLimiter limiter = limiter(ofSeconds(1));
        assertThat(limiter.acquire("tokens", TEN_PER_HOUR, 2).allowed()).isTrue();
        RateDecision charged = limiter.charge("tokens", TEN_PER_HOUR, 13); // 15 of 10: 5 in debt
        assertThat(charged.allowed()).isTrue();
        assertThat(charged.degraded()).isFalse();
        assertThat(charged.remaining()).isZero();
        assertThat(charged.resetAfter()).isBetween(Duration.ofMinutes(90).minusSeconds(5), Duration.ofMinutes(90));
        RateDecision refused = limiter.acquire("tokens", TEN_PER_HOUR, 1);
        assertThat(refused.allowed()).isFalse();
        // Debt of 5 units (30 min) plus the unit asked for (6 min).
        assertThat(refused.retryAfter()).isBetween(Duration.ofMinutes(36).minusSeconds(5), Duration.ofMinutes(36));
        // The key lives as long as the debt does.
        assertThat((double) redis.commands().pttl(redis.prefix + "tokens"))
                .isCloseTo(charged.resetAfter().toMillis(), within(5_000.0));
        limiter.release("tokens", TEN_PER_HOUR, 6);
        assertThat(limiter.acquire("tokens", TEN_PER_HOUR, 1).allowed()).isTrue();
        assertThat(limiter.charge("tokens", TEN_PER_HOUR, 0).allowed()).isTrue();
    }

    @Test
    void severalBucketsAreDecidedInOneScriptCallAllOrNothing() {
        RedisRateLimiter limiter = limiter(ofSeconds(1));
        RateLimit two = RateLimit.of(2, Duration.ofHours(1));
        List<RateRequest> both = List.of(new RateRequest("key", TEN_PER_HOUR, 1), new RateRequest("tenant", two, 1));
        assertThat(limiter.acquireAll(both)).extracting(RateDecision::allowed).containsExactly(true, true);
        assertThat(limiter.acquireAll(both)).extracting(RateDecision::remaining).containsExactly(8L, 0L);
        List<RateDecision> refused = limiter.acquireAll(both);
        assertThat(refused).extracting(RateDecision::allowed).containsExactly(false, false);
        assertThat(refused.get(0).retryAfter()).isZero();
        assertThat(refused.get(0).remaining()).isEqualTo(8);
        assertThat(refused.get(1).retryAfter()).isBetween(Duration.ofMinutes(30).minusSeconds(5), Duration.ofMinutes(30));
        // The refusal took nothing from the key's bucket.
        assertThat(limiter.acquire("key", TEN_PER_HOUR, 8).remaining()).isZero();

        List<RateRequest> twice = List.of(new RateRequest("t2", two, 1), new RateRequest("t2", two, 2));
        assertThat(limiter.acquireAll(twice)).extracting(RateDecision::allowed).containsExactly(false, false);
        assertThat(redis.commands().exists(redis.prefix + "t2")).isZero();
        assertThat(limiter.acquireAll(List.of(new RateRequest("t2", two, 1), new RateRequest("t2", two, 1))))
                .extracting(RateDecision::allowed).containsExactly(true, true);
        assertThat(limiter.acquire("t2", two, 1).allowed()).isFalse();

        redis.commands().scriptFlush();
        assertThat(limiter.acquireAll(List.of(new RateRequest("k3", two, 1))).get(0).degraded()).isFalse();
        assertThatThrownBy(() -> limiter.acquireAll(List.of())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void twoNodesDecidingSeveralBucketsAtOnceShareOneLimitAndTakeAllOrNothing() throws Exception {
        RedisRateLimiter nodeA = limiter(ofSeconds(2));
        RedisRateLimiter nodeB = limiter(ofSeconds(2));
        // The tenant's bucket is oversubscribed; the keys' buckets have a year's period, so they do not refill during
        // the run: what they lost is exactly what was admitted with them, if nothing is taken from a refused call.
        RateLimit tenant = new RateLimit(50, ofSeconds(1), 20);
        RateLimit perKey = RateLimit.of(100_000, Duration.ofDays(365));
        String[] keys = { "key:a", "key:b" };
        int threadsPerNode = 4;
        long runNanos = TimeUnit.SECONDS.toNanos(3);
        var admitted = new AtomicLongArray(keys.length);
        var degraded = new AtomicLong();
        var calls = new AtomicLong();
        var start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2 * threadsPerNode);
        long began;
        long ended;
        try {
            var futures = new ArrayList<Future<?>>();
            for (int t = 0; t < 2 * threadsPerNode; t++) {
                RedisRateLimiter node = t % 2 == 0 ? nodeA : nodeB;
                int k = (t / 2) % keys.length;
                futures.add(pool.submit(() -> {
                    start.await();
                    long until = System.nanoTime() + runNanos;
                    while (System.nanoTime() < until) {
                        List<RateDecision> d = node.acquireAll(List.of(new RateRequest(keys[k], perKey, 1),
                                new RateRequest("tenant", tenant, 1)));
                        calls.incrementAndGet();
                        if (d.get(0).degraded()) {
                            degraded.incrementAndGet();
                        } else if (d.get(0).allowed()) {
                            assertThat(d.get(1).allowed()).isTrue();
                            admitted.incrementAndGet(k);
                        }
                    }
                    return null;
                }));
            }
            began = System.nanoTime();
            start.countDown();
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
            ended = System.nanoTime();
        } finally {
            pool.shutdownNow();
        }
        assertThat(degraded.get()).isZero();
        double allowance = tenant.burst() + tenant.amount() * (ended - began) / 1e9;
        assertThat(calls.get()).as("calls").isGreaterThan((long) (2 * allowance));
        long total = admitted.get(0) + admitted.get(1);
        assertThat((double) total).as("admitted of %.0f allowed", allowance).isLessThanOrEqualTo(allowance * 1.01)
                .isGreaterThanOrEqualTo(allowance * 0.9);
        for (int k = 0; k < keys.length; k++) {
            long left = nodeA.acquire(keys[k], perKey, 1).remaining();
            assertThat(perKey.burst() - 1 - left).as("units the key's bucket lost").isEqualTo(admitted.get(k));
        }
    }

    @Test
    void passwordsNeverReachTheLog() {
        assertThat(RedisRateLimiter.mask("redis://user:s3cret@redis.internal:6379/0"))
                .isEqualTo("redis://user:****@redis.internal:6379/0");
        assertThat(RedisRateLimiter.mask("rediss://s3cret@redis.internal")).isEqualTo("rediss://****@redis.internal");
        assertThat(RedisRateLimiter.mask("redis://:s3cret@h:1")).isEqualTo("redis://:****@h:1");
        assertThat(RedisRateLimiter.mask("redis://127.0.0.1:6379")).isEqualTo("redis://127.0.0.1:6379");
        assertThatThrownBy(() -> new RedisRateLimiter("http://user:s3cret@host:6379", "", "p:", true, ofMillis(50)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageNotContaining("s3cret")
                .hasMessageContaining("user:****@");
    }
}
