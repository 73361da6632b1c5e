package dev.parley.ratelimit.internal;

import static java.time.Duration.ofSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.parley.api.limits.RateDecision;
import dev.parley.api.limits.RateLimit;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.LongPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.felix.hc.api.Result;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The component as DS builds it from its configuration: the store it picks, its health, its metrics, and what happens
 * to decisions and health when Redis goes away behind a TCP proxy and comes back.
 */
class GcraRateLimiterTest {
    private static final RateLimit TEN_PER_HOUR = RateLimit.of(10, Duration.ofHours(1));

    private final RedisTestSupport redis = new RedisTestSupport();
    private GcraRateLimiter limiter;
    private TcpProxy proxy;

    @AfterEach
    void cleanUp() throws Exception {
        if (limiter != null) {
            limiter.deactivate();
        }
        if (proxy != null) {
            proxy.close();
        }
        redis.close();
    }

    @Test
    void byDefaultBucketsAreInProcessAndHealthIsOk() {
        limiter = new GcraRateLimiter(TestConfigs.limiter(Map.of()));
        for (int i = 0; i < 10; i++) {
            assertThat(limiter.acquire("k", TEN_PER_HOUR, 1).allowed()).isTrue();
        }
        assertThat(limiter.acquire("k", TEN_PER_HOUR, 1).allowed()).isFalse();
        assertThat(redis.commands().keys(redis.prefix + "*")).isEmpty();
        Result health = limiter.execute();
        assertThat(health.getStatus()).isEqualTo(Result.Status.OK);
        assertThat(health.toString()).contains("in this process");
    }

    @Test
    void anUnknownStoreOrFailModeIsAConfigurationError() {
        assertThatThrownBy(() -> new GcraRateLimiter(TestConfigs.limiter(Map.of("store", "memcached"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("memcached");
        assertThatThrownBy(() -> new GcraRateLimiter(TestConfigs.limiter(Map.of("failMode", "maybe"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maybe");
    }

    @Test
    void decisionsAreCountedByResult() {
        var reader = InMemoryMetricReader.create();
        var otel = OpenTelemetrySdk.builder()
                .setMeterProvider(SdkMeterProvider.builder().registerMetricReader(reader).build()).build();
        try {
            limiter = new GcraRateLimiter(TestConfigs.limiter(Map.of()));
            limiter.bindOpenTelemetry(otel);
            for (int i = 0; i < 12; i++) {
                limiter.acquire("k", TEN_PER_HOUR, 1);
            }
            assertThat(counts(reader)).containsExactlyInAnyOrderEntriesOf(Map.of("allowed", 10L, "refused", 2L));
            limiter.unbindOpenTelemetry(otel);
            limiter.acquire("k", TEN_PER_HOUR, 1);
            assertThat(counts(reader)).containsEntry("refused", 2L);
        } finally {
            otel.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = { "open", "closed" })
    void redisGoingAwayIsTheFailModeUntilItComesBack(String failMode) throws Exception {
        proxy = new TcpProxy(RedisTestSupport.HOST, RedisTestSupport.PORT);
        var reader = InMemoryMetricReader.create();
        var otel = OpenTelemetrySdk.builder()
                .setMeterProvider(SdkMeterProvider.builder().registerMetricReader(reader).build()).build();
        limiter = new GcraRateLimiter(TestConfigs.limiter(Map.of("store", "redis",
                "redisUri", "redis://127.0.0.1:" + proxy.port(), "keyPrefix", redis.prefix, "failMode", failMode,
                "timeoutMillis", 500)));
        limiter.bindOpenTelemetry(otel);
        boolean open = failMode.equals("open");
        try {
            // The connection opens in the background; until then the fail mode decides.
            await().atMost(ofSeconds(10)).until(() -> limiter.execute().getStatus() == Result.Status.OK);
            RateDecision first = limiter.acquire("k", TEN_PER_HOUR, 4);
            assertThat(first.degraded()).isFalse();
            assertThat(first.remaining()).isEqualTo(6);
            assertThat(redis.commands().exists(redis.prefix + "k")).isEqualTo(1);
            assertThat(limiter.execute().getStatus()).isEqualTo(Result.Status.OK);

            proxy.cut();
            await().atMost(ofSeconds(10)).untilAsserted(() -> assertThat(limiter.acquire("k", TEN_PER_HOUR, 1).degraded()).isTrue());
            for (int i = 0; i < 20; i++) {
                RateDecision d = limiter.acquire("k", TEN_PER_HOUR, 1);
                assertThat(d.degraded()).isTrue();
                assertThat(d.allowed()).isEqualTo(open);
                assertThat(d.retryAfter()).isEqualTo(open ? Duration.ZERO : ofSeconds(1));
            }
            Result down = limiter.execute();
            assertThat(down.getStatus()).isEqualTo(open ? Result.Status.WARN : Result.Status.CRITICAL);
            assertThat(down.toString()).contains("Redis does not answer").contains("fail mode " + failMode);
            assertThat(counts(reader).get("degraded")).isGreaterThanOrEqualTo(21L);
            RedisRateLimiter store = limiter.redisStore();
            assertThat(store.outages()).as("an outage is logged once, not per request").isEqualTo(1);

            proxy.restore();
            // Lettuce reconnects on its own; the bucket kept in Redis meanwhile decides again (4 of 10 taken).
            await().atMost(ofSeconds(15)).untilAsserted(() -> assertThat(limiter.execute().getStatus()).isEqualTo(Result.Status.OK));
            RateDecision back = limiter.acquire("k", TEN_PER_HOUR, 1);
            assertThat(back.degraded()).isFalse();
            assertThat(back.allowed()).isTrue();
            assertThat(back.remaining()).isEqualTo(5);
            assertThat(store.outages()).isEqualTo(1);
        } finally {
            otel.close();
        }
    }

    @Test
    void aRedisThatStopsAnsweringCostsOneTimeoutPerCallAndNoMore() throws Exception {
        proxy = new TcpProxy(RedisTestSupport.HOST, RedisTestSupport.PORT);
        limiter = new GcraRateLimiter(TestConfigs.limiter(Map.of("store", "redis",
                "redisUri", "redis://127.0.0.1:" + proxy.port(), "keyPrefix", redis.prefix, "timeoutMillis", 200)));
        await().atMost(ofSeconds(10)).until(() -> limiter.execute().getStatus() == Result.Status.OK);
        assertThat(limiter.acquire("k", TEN_PER_HOUR, 2).remaining()).isEqualTo(8);

        proxy.freeze();
        long start = System.nanoTime();
        RateDecision d = limiter.acquire("k", TEN_PER_HOUR, 1);
        long waitedMillis = (System.nanoTime() - start) / 1_000_000;
        assertThat(d.degraded()).isTrue();
        assertThat(d.allowed()).isTrue(); // fail mode open, the default
        assertThat(waitedMillis).as("waited for the timeout, not longer").isBetween(150L, 2_000L);
        assertThat(limiter.execute().getStatus()).isEqualTo(Result.Status.WARN);

        proxy.thaw();
        // The held call reaches Redis late and takes its unit (a timed-out call errs on the side of the limit); its
        // late answer is matched to it, and the next calls decide from Redis again: 10 - 2 - 1 - 1 left.
        await().atMost(ofSeconds(10)).until(() -> limiter.execute().getStatus() == Result.Status.OK);
        RateDecision back = limiter.acquire("k", TEN_PER_HOUR, 1);
        assertThat(back.degraded()).isFalse();
        assertThat(back.remaining()).isEqualTo(6);
    }

    @Test
    void aLimiterStartingWithoutRedisConnectsWhenItAppears() throws Exception {
        proxy = new TcpProxy(RedisTestSupport.HOST, RedisTestSupport.PORT);
        proxy.cut();
        limiter = new GcraRateLimiter(TestConfigs.limiter(Map.of("store", "redis",
                "redisUri", "redis://127.0.0.1:" + proxy.port(), "keyPrefix", redis.prefix, "failMode", "closed",
                "timeoutMillis", 200)));
        RateDecision d = limiter.acquire("k", TEN_PER_HOUR, 1);
        assertThat(d.degraded()).isTrue();
        assertThat(d.allowed()).isFalse();
        assertThat(limiter.execute().getStatus()).isEqualTo(Result.Status.CRITICAL);

        proxy.restore();
        await().atMost(ofSeconds(15)).untilAsserted(() -> assertThat(limiter.acquire("k", TEN_PER_HOUR, 1).degraded()).isFalse());
        assertThat(limiter.execute().getStatus()).isEqualTo(Result.Status.OK);
    }

    private static Map<String, Long> counts(InMemoryMetricReader reader) {
        Map<String, Long> byResult = new HashMap<>();
        for (MetricData m : reader.collectAllMetrics()) {
            if (m.getName().equals("parley.ratelimit.decisions")) {
                for (LongPointData p : m.getLongSumData().getPoints()) {
                    Attributes a = p.getAttributes();
                    byResult.put(a.get(RateLimitTelemetry.RESULT), p.getValue());
                }
            }
        }
        return byResult;
    }
}
