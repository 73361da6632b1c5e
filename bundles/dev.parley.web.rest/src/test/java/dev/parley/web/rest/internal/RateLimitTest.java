package dev.parley.web.rest.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.limits.RateLimit;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Request rate limits behind the real edge, over loopback HTTP: which buckets a request takes from, the RateLimit
 * headers, 429 in each API's error shape, sign-in per client address, and a limiter that cannot reach its store. The
 * limiter is {@link CountingRateLimiter} (buckets that never refill), so no test depends on the clock; the GCRA
 * arithmetic is the limiter bundle's own test.
 */
class RateLimitTest {
    private static final String CHAT = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    private static final String STREAM = "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    private static final String MESSAGE = "{\"model\":\"test-model\",\"max_tokens\":100,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    /** Stands in for the sign-in resource of the identity bundle (a public route): "right" is the password. */
    @Path("api/v1/auth/login")
    public static final class SignInStub {
        @POST
        @Consumes(MediaType.WILDCARD)
        @Produces(MediaType.APPLICATION_JSON)
        public jakarta.ws.rs.core.Response login(String body) {
            return body.contains("right") ? jakarta.ws.rs.core.Response.ok(Map.of("signed_in", true)).build()
                    : jakarta.ws.rs.core.Response.status(401).entity(Map.of("signed_in", false)).build();
        }
    }

    private final ScriptedChatService chat = new ScriptedChatService();
    private final RestServer server = new RestServer(chat, new StubHealthChecks());

    @AfterEach
    void close() {
        server.close();
        chat.close();
    }

    private static RateLimit perMinute(long amount, long burst) {
        return new RateLimit(amount, Duration.ofMinutes(1), burst);
    }

    private void limits(RateLimit key, RateLimit user, RateLimit tenant, Map<String, Optional<RateLimit>> tenants) {
        server.rateLimits.limits(new RequestLimits(key, user, tenant, tenants, null));
    }

    private HttpResponse<String> get(String path, String credential) throws Exception {
        return server.send(server.anonymous(path).header("Authorization", "Bearer " + credential).GET().build());
    }

    private HttpResponse<String> post(String path, String credential, String body) throws Exception {
        return server.send(server.anonymous(path).header("Authorization", "Bearer " + credential)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    private static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElse(null);
    }

    @Test
    void limitedAnswersSayTheTightestPolicyAndWhatIsLeft() throws Exception {
        limits(perMinute(600, 100), perMinute(1200, 200), perMinute(6000, 1000), Map.of());
        var r = get("api/v1/conversations", "as:member@acme");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(header(r, "RateLimit-Policy")).isEqualTo("\"key\";q=600;w=60");
        // One request taken: 99 left; the burst is whole again one emission interval (0.1 s, rounded up) later.
        assertThat(header(r, "RateLimit")).isEqualTo("\"key\";r=99;t=1");
        assertThat(server.limiter.acquired).containsExactly("rl:key:as:member@acme", "rl:user:acme:user-member",
                "rl:tenant:acme");
        assertThat(server.limiter.acquireAllCalls).as("three buckets, one limiter call").isEqualTo(1);

        // A tenant override tighter than the key's limit is the one reported.
        limits(perMinute(600, 100), null, perMinute(6000, 1000), Map.of("acme", Optional.of(perMinute(30, 5))));
        var tighter = post("v1/chat/completions", "as:member@acme#2", CHAT);
        assertThat(tighter.statusCode()).isEqualTo(200);
        assertThat(header(tighter, "RateLimit-Policy")).isEqualTo("\"tenant\";q=30;w=60");
        assertThat(header(tighter, "RateLimit")).isEqualTo("\"tenant\";r=3;t=4");

        // A stream has them too, and counts once, when it starts.
        var stream = post("v1/chat/completions", "as:developer@acme", STREAM);
        assertThat(stream.statusCode()).isEqualTo(200);
        assertThat(header(stream, "Content-Type")).startsWith("text/event-stream");
        assertThat(stream.body()).contains("[DONE]");
        assertThat(header(stream, "RateLimit")).isEqualTo("\"tenant\";r=2;t=6");
        assertThat(server.limiter.taken("rl:key:as:developer@acme")).isEqualTo(1);

        // Not limited: the break-glass token, and public routes other than sign-in.
        var admin = server.get("api/v1/conversations");
        assertThat(admin.statusCode()).isEqualTo(200);
        assertThat(header(admin, "RateLimit")).isNull();
        var health = server.send(server.anonymous("health/live").GET().build());
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(header(health, "RateLimit")).isNull();
    }

    @Test
    void afterTheBurstEachApiAnswers429InItsOwnShapeWithRetryAfterRoundedUp() throws Exception {
        // 40 a minute: one every 1.5 s, so a refusal waits 1.5 s, sent as 2.
        limits(perMinute(40, 2), null, null, Map.of());

        for (int i = 0; i < 2; i++) {
            assertThat(post("v1/chat/completions", "as:member#openai", CHAT).statusCode()).isEqualTo(200);
        }
        int answered = chat.completions.size();
        var openAi = post("v1/chat/completions", "as:member#openai", CHAT);
        assertThat(openAi.statusCode()).isEqualTo(429);
        assertThat(header(openAi, "Retry-After")).isEqualTo("2");
        assertThat(header(openAi, "RateLimit-Policy")).isEqualTo("\"key\";q=40;w=60");
        assertThat(header(openAi, "RateLimit")).isEqualTo("\"key\";r=0;t=2");
        assertThat(header(openAi, "Content-Type")).startsWith("application/json");
        var error = server.parse(openAi).path("error");
        assertThat(error.path("type").asText()).isEqualTo("rate_limit_error");
        assertThat(error.path("code").asText()).isEqualTo("rate_limit_exceeded");
        assertThat(error.path("message").asText()).contains("40 per minute").doesNotContain("as:member");
        assertThat(chat.completions).as("a refused request never reaches the model").hasSize(answered);

        for (int i = 0; i < 2; i++) {
            assertThat(post("v1/messages", "as:member#anthropic", MESSAGE).statusCode()).isEqualTo(200);
        }
        var anthropic = post("v1/messages", "as:member#anthropic", MESSAGE);
        assertThat(anthropic.statusCode()).isEqualTo(429);
        assertThat(header(anthropic, "Retry-After")).isEqualTo("2");
        assertThat(server.parse(anthropic).path("type").asText()).isEqualTo("error");
        assertThat(server.parse(anthropic).path("error").path("type").asText()).isEqualTo("rate_limit_error");

        for (int i = 0; i < 2; i++) {
            assertThat(get("api/v1/conversations", "as:member#native").statusCode()).isEqualTo(200);
        }
        var problem = get("api/v1/conversations", "as:member#native");
        assertThat(problem.statusCode()).isEqualTo(429);
        assertThat(header(problem, "Content-Type")).isEqualTo(ErrorResponses.PROBLEM_JSON);
        assertThat(header(problem, "Retry-After")).isEqualTo("2");
        assertThat(server.parse(problem).path("type").asText()).endsWith("/rate-limited");
        assertThat(server.parse(problem).path("status").asInt()).isEqualTo(429);
        assertThat(server.parse(problem).path("retryAfterSeconds").asLong()).isEqualTo(2);
    }

    @Test
    void keysHaveTheirOwnLimitWhileAUsersAndATenantsKeysShareTheirs() throws Exception {
        limits(perMinute(60, 2), perMinute(60, 3), perMinute(60, 60), Map.of("acme", Optional.of(perMinute(60, 5))));
        assertThat(get("v1/models", "as:member@acme#1").statusCode()).isEqualTo(200);
        assertThat(get("v1/models", "as:member@acme#1").statusCode()).isEqualTo(200);
        var keyFull = get("v1/models", "as:member@acme#1");
        assertThat(keyFull.statusCode()).isEqualTo(429);
        assertThat(header(keyFull, "RateLimit-Policy")).startsWith("\"key\"");
        // Another key of the same user has its own key bucket, but shares the user's: 3 at once.
        assertThat(get("v1/models", "as:member@acme#2").statusCode()).isEqualTo(200);
        var userFull = get("v1/models", "as:member@acme#2");
        assertThat(userFull.statusCode()).isEqualTo(429);
        assertThat(header(userFull, "RateLimit-Policy")).isEqualTo("\"user\";q=60;w=60");
        assertThat(server.parse(userFull).path("error").path("message").asText()).contains("this user");
        // Other users of the tenant share the tenant's 5 (3 taken so far: refusals gave theirs back).
        assertThat(server.limiter.taken("rl:tenant:acme")).isEqualTo(3);
        assertThat(get("v1/models", "as:developer@acme").statusCode()).isEqualTo(200);
        assertThat(get("v1/models", "as:viewer@acme").statusCode()).isEqualTo(200);
        var tenantFull = get("v1/models", "as:owner@acme");
        assertThat(tenantFull.statusCode()).isEqualTo(429);
        assertThat(header(tenantFull, "RateLimit-Policy")).isEqualTo("\"tenant\";q=60;w=60");
        assertThat(server.limiter.taken("rl:key:as:owner@acme")).as("given back").isZero();
        // Another tenant is not affected.
        var beta = get("v1/models", "as:member@beta");
        assertThat(beta.statusCode()).isEqualTo(200);
        assertThat(header(beta, "RateLimit")).isEqualTo("\"key\";r=1;t=1");
    }

    @Test
    void failedSignInsAreLimitedPerClientAddress() throws Exception {
        server.rateLimits.limits(new RequestLimits(null, null, null, Map.of(), perMinute(60, 3)));
        // Successful sign-ins give their unit back: an office behind one address all signing in at nine is fine.
        for (int i = 0; i < 5; i++) {
            var ok = signIn("right");
            assertThat(ok.statusCode()).isEqualTo(200);
            assertThat(header(ok, "RateLimit-Policy")).isEqualTo("\"sign-in\";q=60;w=60");
        }
        assertThat(server.limiter.taken("rl:ip:127.0.0.1")).isZero();
        // Guesses keep theirs.
        for (int i = 0; i < 3; i++) {
            assertThat(signIn("guess").statusCode()).isEqualTo(401);
        }
        var refused = signIn("right");
        assertThat(refused.statusCode()).as("refused before the password is looked at").isEqualTo(429);
        assertThat(header(refused, "Retry-After")).isEqualTo("1");
        assertThat(header(refused, "Content-Type")).isEqualTo(ErrorResponses.PROBLEM_JSON);
        assertThat(server.parse(refused).path("detail").asText()).contains("sign-in from this address");
        assertThat(server.limiter.acquired).containsOnly("rl:ip:127.0.0.1");
        // Refresh takes from the same bucket; another address has its own.
        assertThat(rawPost("127.0.0.1", "/api/v1/auth/refresh")).startsWith("HTTP/1.1 429");
        assertThat(rawPost("127.0.0.2", "/api/v1/auth/login")).startsWith("HTTP/1.1 401")
                .contains("RateLimit: \"sign-in\";r=2;t=");
        // Other public routes are not limited.
        assertThat(server.send(server.anonymous("health/live").GET().build()).statusCode()).isEqualTo(200);
    }

    private HttpResponse<String> signIn(String password) throws Exception {
        return server.send(server.anonymous("api/v1/auth/login").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"username\":\"admin\",\"password\":\"" + password
                        + "\"}")).build());
    }

    /** A POST from a socket bound to {@code from} (any 127/8 address is loopback on Linux). */
    private String rawPost(String from, String path) throws IOException {
        try (var socket = new Socket()) {
            socket.bind(new InetSocketAddress(from, 0));
            socket.connect(new InetSocketAddress("127.0.0.1", server.base.getPort()), 5_000);
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                    + "application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
                    .getBytes(StandardCharsets.US_ASCII));
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void aLimiterThatCannotReachItsStoreLetsThroughOrRefusesAsItsFailModeSays() throws Exception {
        limits(perMinute(60, 2), null, perMinute(600, 100), Map.of());
        server.limiter.down(CountingRateLimiter.Store.DOWN_FAIL_OPEN);
        for (int i = 0; i < 3; i++) {
            var open = post("v1/chat/completions", "as:member", CHAT);
            assertThat(open.statusCode()).isEqualTo(200);
            assertThat(header(open, "RateLimit")).as("nothing is known: no headers").isNull();
        }

        server.limiter.down(CountingRateLimiter.Store.DOWN_FAIL_CLOSED);
        int answered = chat.completions.size();
        var closed = post("v1/chat/completions", "as:member", CHAT);
        assertThat(closed.statusCode()).isEqualTo(503);
        assertThat(header(closed, "Retry-After")).isEqualTo("1");
        assertThat(server.parse(closed).path("error").path("message").asText()).contains("rate limiter");
        var problem = get("api/v1/conversations", "as:member");
        assertThat(problem.statusCode()).isEqualTo(503);
        assertThat(server.parse(problem).path("type").asText()).endsWith("/unavailable");
        assertThat(chat.completions).hasSize(answered);
        // The break-glass token still works: it is not limited.
        assertThat(server.get("api/v1/conversations").statusCode()).isEqualTo(200);

        server.limiter.down(CountingRateLimiter.Store.UP);
        var back = post("v1/chat/completions", "as:member", CHAT);
        assertThat(back.statusCode()).isEqualTo(200);
        assertThat(header(back, "RateLimit")).isEqualTo("\"key\";r=1;t=1");
    }

    @Test
    void limitsComeFromConfiguration() {
        var overrides = RequestLimits.tenantOverrides(new String[] {" acme = 30000/5000 ", "beta=600", "free=0", ""});
        assertThat(overrides.get("acme")).contains(perMinute(30_000, 5_000));
        assertThat(overrides.get("beta")).as("burst: ten seconds' worth").contains(perMinute(600, 100));
        assertThat(overrides.get("free")).isEmpty();
        assertThat(RequestLimits.perMinute("key", 0, 10)).isNull();
        assertThat(RequestLimits.perMinute("key", 10, 500)).isEqualTo(perMinute(10, 10));
        for (String bad : new String[] {"acme", "=5", "acme=", "acme=lots", "acme=5/x", "acme=-1", "acme=10/0"}) {
            assertThatThrownBy(() -> RequestLimits.tenantOverrides(new String[] {bad}))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tenant");
        }
        assertThatThrownBy(() -> RequestLimits.perMinute("key", -1, 1)).isInstanceOf(IllegalArgumentException.class);
        // Bucket names stay within what the limiter takes, and distinct.
        String longId = "x".repeat(600);
        String name = RequestLimits.name("rl:key:", longId);
        assertThat(name).hasSizeLessThanOrEqualTo(RequestLimits.MAX_KEY_CHARS).startsWith("rl:key:sha256:")
                .isNotEqualTo(RequestLimits.name("rl:key:", longId + "y"));
    }
}
