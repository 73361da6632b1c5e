package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.api.limits.RateDecision;
import dev.parley.api.limits.RateLimit;
import dev.parley.api.limits.RateLimiter;
import java.time.Duration;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * The rate limiter bundle in the shipped runtime, switched to the local Redis (127.0.0.1:6379) through Configuration
 * Admin: Lettuce and its Netty run inside the bundle, decisions come from Redis (so they survive a restart of the
 * bundle), readiness names Redis, and stopping the bundle leaves none of their threads behind.
 */
class RateLimiterRedisTest {
    private static final String PID = "dev.parley.ratelimit";
    private static final RateLimit TEN_PER_TEN_MINUTES = RateLimit.of(10, Duration.ofMinutes(10));

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ConfigurationAdmin configAdmin;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 20_000)
    ServiceAware<RateLimiter> limiters;

    private Configuration configuration;

    @AfterEach
    void backToTheDefault() throws Exception {
        if (configuration != null) {
            configuration.delete();
        }
    }

    @Test
    void withRedisConfiguredDecisionsComeFromRedisAndSurviveABundleRestart() throws Exception {
        String prefix = "parley-itest:rl:" + UUID.randomUUID() + ":";
        configuration = configAdmin.getConfiguration(PID, "?");
        var props = new Hashtable<String, Object>();
        props.put("store", "redis");
        props.put("redisUri", "redis://127.0.0.1:6379");
        props.put("keyPrefix", prefix);
        props.put("timeoutMillis", 1000);
        configuration.update(props);

        Server server = new Server(http.getServiceReference());
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(server.get("health/ready").body())
                .contains("buckets in Redis uri=redis://127.0.0.1:6379"));
        for (int i = 0; i < 10; i++) {
            RateDecision d = limiters.waitForService(10_000).acquire("itest", TEN_PER_TEN_MINUTES, 1);
            assertThat(d.degraded()).isFalse();
            assertThat(d.allowed()).isTrue();
        }
        assertThat(limiters.getService().acquire("itest", TEN_PER_TEN_MINUTES, 1).allowed()).isFalse();

        Bundle bundle = Arrays.stream(context.getBundles())
                .filter(b -> "dev.parley.ratelimit".equals(b.getSymbolicName())).findFirst().orElseThrow();
        bundle.stop();
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
                assertThat(clientThreads()).as("threads left running by the stopped rate limiter").isEmpty());
        bundle.start();

        // A new component instance with a new client: the bucket is still empty, because it lives in Redis.
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            RateDecision d = limiters.waitForService(10_000).acquire("itest", TEN_PER_TEN_MINUTES, 1);
            assertThat(d.degraded()).isFalse();
            assertThat(d.allowed()).isFalse();
            assertThat(d.remaining()).isZero();
        });
        // Give everything back: the script deletes a bucket that is full again, so the shared Redis keeps nothing.
        limiters.getService().release("itest", TEN_PER_TEN_MINUTES, 10);
        assertThat(limiters.getService().acquire("itest", TEN_PER_TEN_MINUTES, 10).allowed()).isTrue();
        limiters.getService().release("itest", TEN_PER_TEN_MINUTES, 10);
    }

    /** Threads of Lettuce, its Netty and the limiter itself (by name or by a frame of their code). */
    private static List<String> clientThreads() {
        return Thread.getAllStackTraces().entrySet().stream()
                .filter(e -> e.getKey().isAlive())
                .filter(e -> e.getKey().getName().startsWith("lettuce-")
                        || Arrays.stream(e.getValue()).anyMatch(f -> f.getClassName().startsWith("io.lettuce.")
                                || f.getClassName().startsWith("io.netty.")
                                || f.getClassName().startsWith("dev.parley.ratelimit.")))
                .map(e -> e.getKey().getName() + " " + Arrays.toString(e.getValue()))
                .toList();
    }
}
