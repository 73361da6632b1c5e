package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Request rate limits in the exported server. Two Parley processes sharing one PostgreSQL schema (so an API key made
 * on one works on both) and the local Redis (127.0.0.1:6379) hold one limit per key between them: concurrent
 * clients on both nodes hammering one key get at most the limit, plus 1 %, of 200s within the window, and another
 * key is unaffected. A node whose Redis is away (a port nothing listens on) lets requests through with fail mode
 * open and refuses them (503) with closed.
 */
class RequestRateLimitsIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String TOKEN = "limits-admin-" + UUID.randomUUID();
    /** 3000 a minute (50/s), 100 at once. */
    static final int PER_MINUTE = 3000;
    static final int BURST = 100;
    static final Duration HAMMER = Duration.ofSeconds(5);
    static final int CLIENTS_PER_NODE = 4;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** Per-key limits only (users and tenants unlimited), so that the two keys below are independent. */
    private static Map<String, String> keyLimits(int perMinute, int burst) {
        return Map.of("PARLEY_RATELIMIT_KEY_RPM", Integer.toString(perMinute),
                "PARLEY_RATELIMIT_KEY_BURST", Integer.toString(burst),
                "PARLEY_RATELIMIT_USER_RPM", "0", "PARLEY_RATELIMIT_TENANT_RPM", "0",
                "PARLEY_ADMIN_TOKEN", TOKEN);
    }

    @Test
    void twoNodesSharingRedisHoldOneLimitPerKey(@TempDir Path temp) throws Exception {
        try (var pg = PostgresSchema.create("parley_limits_")) {
            var env = new HashMap<String, String>(keyLimits(PER_MINUTE, BURST));
            env.putAll(pg.serverEnv());
            env.put("PARLEY_RATELIMIT_STORE", "redis");
            env.put("PARLEY_REDIS_URI", "redis://127.0.0.1:6379");
            // A shared machine under load: a decision that times out would be let through (fail mode open) and
            // count as over-admission; wait longer than the default 50 ms rather than measure the machine.
            env.put("PARLEY_RATELIMIT_TIMEOUT_MS", "1000");
            // One after the other: the first start migrates the schema.
            try (var a = ParleyProcess.start(temp.resolve("node-a"), env);
                    var b = ParleyProcess.start(temp.resolve("node-b"), env)) {
                String hammered = a.newApiKey("hammered");
                String other = a.newApiKey("other");

                var nodes = List.of(a, b);
                Map<ParleyProcess, Counts> counts = new HashMap<>();
                nodes.forEach(n -> counts.put(n, new Counts()));
                ExecutorService clients = Executors.newFixedThreadPool(CLIENTS_PER_NODE * nodes.size());
                List<Future<?>> running = new ArrayList<>();
                long start = System.nanoTime();
                long deadline = start + HAMMER.toNanos();
                try {
                    for (var node : nodes) {
                        for (int i = 0; i < CLIENTS_PER_NODE; i++) {
                            running.add(clients.submit(() -> {
                                while (System.nanoTime() < deadline) {
                                    counts.get(node).add(http.send(models(node, hammered),
                                            HttpResponse.BodyHandlers.discarding()));
                                }
                                return null;
                            }));
                        }
                    }
                    for (Future<?> f : running) {
                        f.get(HAMMER.toSeconds() + 60, TimeUnit.SECONDS);
                    }
                } finally {
                    clients.shutdownNow();
                }
                double seconds = (System.nanoTime() - start) / 1e9;

                int allowed = counts.values().stream().mapToInt(c -> c.ok.get()).sum();
                int refused = counts.values().stream().mapToInt(c -> c.refused.get()).sum();
                // GCRA admits the burst at once, then one request per emission interval.
                double limit = BURST + PER_MINUTE / 60.0 * seconds;
                String summary = String.format("allowed=%d refused=%d in %.2f s, limit %.1f, per node %s", allowed,
                        refused, seconds, limit, counts.values());
                System.out.println("[limits] " + summary);
                assertThat(counts.values()).allSatisfy(c -> {
                    assertThat(c.other.get()).as("neither 5xx nor anything else").isZero();
                    assertThat(c.unlimited.get()).as("every 200 came with a decision (none degraded)").isZero();
                    assertThat(c.ok.get()).as("both nodes admit").isPositive();
                    assertThat(c.refused.get()).as("both nodes refuse").isPositive();
                });
                assertThat(allowed).as(summary).isLessThanOrEqualTo((int) Math.floor(limit * 1.01));
                // ... and it is a limit being held, not a node refusing everything: per node it would be twice this.
                assertThat(allowed).as(summary).isGreaterThanOrEqualTo((int) (limit * 0.85));

                // Another key of the same owner is not touched by that, on either node.
                for (var node : nodes) {
                    var r = http.send(models(node, other), HttpResponse.BodyHandlers.ofString());
                    assertThat(r.statusCode()).isEqualTo(200);
                    assertThat(r.headers().firstValue("RateLimit-Policy")).hasValue("\"key\";q=" + PER_MINUTE + ";w=60");
                    assertThat(r.headers().firstValue("RateLimit").orElseThrow()).matches("\"key\";r=9[0-9];t=\\d+");
                }
                var last = http.send(models(b, hammered), HttpResponse.BodyHandlers.ofString());
                if (last.statusCode() == 429) {
                    assertThat(last.headers().firstValue("Retry-After")).hasValue("1");
                    assertThat(JSON.readTree(last.body()).at("/error/type").asText()).isEqualTo("rate_limit_error");
                }
            }
        }
    }

    @Test
    void withoutRedisFailModeOpenLetsRequestsThroughAndHealthSaysSo(@TempDir Path temp) throws Exception {
        var env = new HashMap<String, String>(keyLimits(60, 2));
        env.put("PARLEY_RATELIMIT_STORE", "redis");
        env.put("PARLEY_REDIS_URI", "redis://127.0.0.1:" + closedPort());
        env.put("PARLEY_RATELIMIT_FAIL_MODE", "open");
        try (var parley = ParleyProcess.start(temp.resolve("data"), env)) {
            String key = parley.newApiKey("open");
            for (int i = 0; i < 5; i++) {
                var r = http.send(models(parley, key), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as("over the burst of 2, unlimited while Redis is away").isEqualTo(200);
                assertThat(r.headers().firstValue("RateLimit")).isEmpty();
            }
            var ready = http.send(parley.request("/health/ready").build(), HttpResponse.BodyHandlers.ofString());
            assertThat(ready.statusCode()).isEqualTo(200);
            assertThat(limiterCheck(JSON.readTree(ready.body())).get("message").asText())
                    .contains("Redis does not answer").contains("fail mode open");
        }
    }

    @Test
    void withoutRedisFailModeClosedRefusesLimitedRequests(@TempDir Path temp) throws Exception {
        var env = new HashMap<String, String>(keyLimits(60, 2));
        env.put("PARLEY_RATELIMIT_STORE", "redis");
        env.put("PARLEY_REDIS_URI", "redis://127.0.0.1:" + closedPort());
        env.put("PARLEY_RATELIMIT_FAIL_MODE", "closed");
        // Not ready, on purpose: the limiter is its only failing check.
        try (var parley = ParleyProcess.start(temp.resolve("data"), env, r -> r.statusCode() == 503
                && onlyTheLimiterFails(r.body()))) {
            // The break-glass token is not limited, so the operator can still act.
            String key = parley.newApiKey("closed");
            var chat = http.send(models(parley, key), HttpResponse.BodyHandlers.ofString());
            assertThat(chat.statusCode()).isEqualTo(503);
            assertThat(chat.headers().firstValue("Retry-After")).hasValue("1");
            assertThat(JSON.readTree(chat.body()).at("/error/message").asText()).contains("rate limiter");
            var nativeApi = http.send(HttpRequest.newBuilder(parley.uri("/api/v1/conversations"))
                    .header("Authorization", "Bearer " + key).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(nativeApi.statusCode()).isEqualTo(503);
            assertThat(JSON.readTree(nativeApi.body()).get("code").asText()).isEqualTo("unavailable");
        }
    }

    private static boolean onlyTheLimiterFails(String body) {
        try {
            JsonNode checks = JSON.readTree(body).get("checks");
            return checks.size() == 1 && checks.get(0).get("name").asText().equals("Parley rate limiter")
                    && checks.get(0).get("message").asText().contains("fail mode closed");
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static JsonNode limiterCheck(JsonNode ready) {
        for (JsonNode check : ready.get("checks")) {
            if (check.get("name").asText().equals("Parley rate limiter")) {
                return check;
            }
        }
        throw new AssertionError("no rate limiter check in " + ready);
    }

    private HttpRequest models(ParleyProcess node, String key) {
        return HttpRequest.newBuilder(node.uri("/v1/models")).header("Authorization", "Bearer " + key)
                .timeout(Duration.ofSeconds(30)).build();
    }

    private static int closedPort() throws java.io.IOException {
        try (var s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** What one node answered. */
    static final class Counts {
        final AtomicInteger ok = new AtomicInteger();
        final AtomicInteger refused = new AtomicInteger();
        final AtomicInteger unlimited = new AtomicInteger();
        final AtomicInteger other = new AtomicInteger();

        void add(HttpResponse<?> r) {
            switch (r.statusCode()) {
            case 200 -> {
                ok.incrementAndGet();
                if (r.headers().firstValue("RateLimit").isEmpty()) {
                    unlimited.incrementAndGet();
                }
            }
            case 429 -> refused.incrementAndGet();
            default -> other.incrementAndGet();
            }
        }

        @Override
        public String toString() {
            return "ok=" + ok + " refused=" + refused + " other=" + other;
        }
    }
}
