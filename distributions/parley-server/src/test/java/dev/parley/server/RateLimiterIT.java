package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rate limiter bundle in the exported server: it resolves, its component activates with the store the environment
 * names (in process by default, the local Redis at 127.0.0.1:6379 with PARLEY_RATELIMIT_STORE=redis, Lettuce and its
 * Netty running inside the bundle), and it reports itself in readiness. Limits are not wired into requests yet.
 */
class RateLimiterIT {
    static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void byDefaultTheLimiterKeepsItsBucketsInProcess(@TempDir Path temp) throws Exception {
        var parley = ParleyProcess.start(temp.resolve("data"), Map.of());
        try {
            assertThat(limiterCheck(parley).get("message").asText()).contains("buckets in this process");
        } finally {
            parley.close();
        }
        assertThat(Files.readString(parley.log)).contains("Rate limiter keeps its buckets in this process");
        assertThat(parley.logLinesWith("Exception")).isEmpty();
    }

    @Test
    void withRedisConfiguredTheLimiterUsesItAndNeverLogsThePassword(@TempDir Path temp) throws Exception {
        // The local Redis has no password: its default user is "nopass", so AUTH default <anything> succeeds.
        var parley = ParleyProcess.start(temp.resolve("data"), Map.of(
                "PARLEY_RATELIMIT_STORE", "redis",
                "PARLEY_REDIS_URI", "redis://default:it-s3cret@127.0.0.1:6379/0",
                "PARLEY_RATELIMIT_TIMEOUT_MS", "500"));
        try {
            JsonNode check = limiterCheck(parley);
            assertThat(check.get("status").asText()).isEqualTo("UP");
            assertThat(check.get("message").asText()).contains("buckets in Redis uri=redis://default:****@127.0.0.1:6379/0");
        } finally {
            parley.close();
        }
        String log = Files.readString(parley.log);
        assertThat(log).contains("Rate limiter uses Redis uri=redis://default:****@127.0.0.1:6379/0")
                .doesNotContain("it-s3cret");
        assertThat(parley.logLinesWith("Exception")).isEmpty();
    }

    @Test
    void withoutRedisAndFailModeOpenTheNodeStaysReadyAndSaysWhy(@TempDir Path temp) throws Exception {
        int closedPort;
        try (var s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        var parley = ParleyProcess.start(temp.resolve("data"), Map.of(
                "PARLEY_RATELIMIT_STORE", "redis",
                "PARLEY_REDIS_URI", "redis://127.0.0.1:" + closedPort,
                "PARLEY_RATELIMIT_FAIL_MODE", "open"));
        try {
            JsonNode check = limiterCheck(parley);
            assertThat(check.get("status").asText()).isEqualTo("UP");
            assertThat(check.get("message").asText()).contains("Redis does not answer").contains("fail mode open");
        } finally {
            parley.close();
        }
    }

    private JsonNode limiterCheck(ParleyProcess parley) throws IOException, InterruptedException {
        var ready = http.send(parley.request("/health/ready").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
        for (JsonNode check : JSON.readTree(ready.body()).get("checks")) {
            if (check.get("name").asText().equals("Parley rate limiter")) {
                return check;
            }
        }
        throw new AssertionError("no rate limiter check in " + ready.body());
    }
}
