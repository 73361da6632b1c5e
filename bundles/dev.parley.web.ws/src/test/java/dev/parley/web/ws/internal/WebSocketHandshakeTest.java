package dev.parley.web.ws.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.identity.IdentityEvents;
import dev.parley.api.identity.Role;
import dev.parley.testsupport.ws.RawHandshake;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.service.event.Event;

/**
 * Who may open the chat WebSocket, over real loopback: the servlet on a standalone Jetty with no edge in front, so
 * it checks the credential itself; refusals are HTTP answers with problem bodies before the upgrade.
 */
class WebSocketHandshakeTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ScriptedChatService chat;
    private WsTestServer server;
    private HttpClient http;
    private final List<WsTestClient> clients = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        chat = new ScriptedChatService();
        server = new WsTestServer(chat, WsTestServer.config(SocketLimits.DEFAULTS, 0,
                new String[] {"https://chat.example.com", "http://localhost:*"}));
        http = HttpClient.newHttpClient();
    }

    @AfterEach
    void stop() throws Exception {
        clients.forEach(WsTestClient::close);
        server.close();
        chat.close();
    }

    private RawHandshake.Answer handshake(Map<String, String> headers) throws Exception {
        return RawHandshake.send(server.httpUri(), ChatEndpointConfig.PATH, headers);
    }

    private static JsonNode problem(RawHandshake.Answer answer) throws Exception {
        assertThat(answer.header("Content-Type")).startsWith("application/problem+json");
        return JSON.readTree(answer.body());
    }

    private WsTestClient open(WebSocket.Builder builder) {
        var client = WsTestClient.connect(builder, server.uri());
        clients.add(client);
        return client;
    }

    private static void assertAnswersPing(WsTestClient client) throws Exception {
        client.send("{\"type\":\"ping\",\"id\":\"p\"}");
        assertThat(client.next().get("type").asText()).isEqualTo("pong");
    }

    @Test
    void withoutACredentialTheHandshakeIs401WithAProblem() throws Exception {
        RawHandshake.Answer answer = handshake(Map.of());
        assertThat(answer.status()).isEqualTo(401);
        assertThat(answer.header("WWW-Authenticate")).startsWith("Bearer");
        JsonNode p = problem(answer);
        assertThat(p.get("code").asText()).isEqualTo("unauthorized");
        assertThat(p.get("status").asInt()).isEqualTo(401);
        assertThat(p.get("detail").asText()).contains("parley.bearer.");
    }

    @Test
    void aWrongOrMalformedOrHugeCredentialIs401() throws Exception {
        assertThat(handshake(Map.of("Authorization", "Bearer test-nobody")).status()).isEqualTo(401);
        assertThat(handshake(Map.of("Authorization", "Bearer not-known-to-anyone")).status()).isEqualTo(401);
        RawHandshake.Answer basic = handshake(Map.of("Authorization", "Basic dXNlcjpwYXNz"));
        assertThat(basic.status()).isEqualTo(401);
        assertThat(problem(basic).get("detail").asText()).contains("Bearer");
        RawHandshake.Answer huge = handshake(Map.of("Authorization", "Bearer test-" + "x".repeat(7_200)));
        assertThat(huge.status()).isEqualTo(401);
        assertThat(problem(huge).get("detail").asText()).contains("7168");
        assertThat(chat.turns).isEmpty();
    }

    @Test
    void aPrincipalWithoutChatIs403() throws Exception {
        RawHandshake.Answer answer = handshake(Map.of("Authorization", "Bearer " + TestCredentials.VIEWER));
        assertThat(answer.status()).isEqualTo(403);
        assertThat(problem(answer).get("code").asText()).isEqualTo("forbidden");
        assertThat(problem(answer).get("detail").asText()).contains("'chat'");
    }

    @Test
    void anAuthenticatorThatCannotDecideNowIs503WithRetryAfter() throws Exception {
        RawHandshake.Answer answer = handshake(Map.of("Authorization", "Bearer " + TestCredentials.UNREACHABLE));
        assertThat(answer.status()).isEqualTo(503);
        assertThat(answer.header("Retry-After")).isEqualTo("7");
        assertThat(problem(answer).get("code").asText()).isEqualTo("unavailable");
    }

    @Test
    void aHeaderCredentialOpensTheSocket() throws Exception {
        var client = open(http.newWebSocketBuilder().header("Authorization", "Bearer " + TestCredentials.MEMBER));
        assertAnswersPing(client);
        assertThat(client.subprotocol()).isEmpty();
    }

    @Test
    void aSubprotocolCredentialOpensTheSocketAndOnlyParleyV1IsAnswered() throws Exception {
        var client = open(http.newWebSocketBuilder()
                .subprotocols("parley.bearer." + TestCredentials.MEMBER, SocketCredentials.PROTOCOL));
        assertAnswersPing(client);
        assertThat(client.subprotocol()).isEqualTo("parley.v1");

        // On the wire: the answer names parley.v1, never the entry that carries the credential.
        RawHandshake.Answer answer = handshake(Map.of("Sec-WebSocket-Protocol",
                "parley.bearer." + TestCredentials.MEMBER + ", parley.v1"));
        assertThat(answer.status()).isEqualTo(101);
        assertThat(answer.header("Sec-WebSocket-Protocol")).isEqualTo("parley.v1");
        assertThat(answer.headers().toString()).doesNotContain(TestCredentials.MEMBER);
    }

    @Test
    void aSubprotocolCredentialAloneIsNeverEchoed() throws Exception {
        RawHandshake.Answer answer = handshake(Map.of("Sec-WebSocket-Protocol", "parley.bearer." + TestCredentials.MEMBER));
        assertThat(answer.status()).isEqualTo(101);
        assertThat(answer.header("Sec-WebSocket-Protocol")).isNull();
    }

    @Test
    void aForeignOriginIs403BeforeAnyCredentialIsLookedAt() throws Exception {
        RawHandshake.Answer withGood = handshake(Map.of("Origin", "https://evil.example",
                "Authorization", "Bearer " + TestCredentials.MEMBER));
        assertThat(withGood.status()).isEqualTo(403);
        assertThat(problem(withGood).get("detail").asText()).contains("origin");
        // Without a credential too: 403, not 401 (the credential is never looked at).
        assertThat(handshake(Map.of("Origin", "https://evil.example")).status()).isEqualTo(403);
        // A page on the allowed host but another scheme or port is another origin.
        assertThat(handshake(Map.of("Origin", "http://chat.example.com",
                "Authorization", "Bearer " + TestCredentials.MEMBER)).status()).isEqualTo(403);
        assertThat(handshake(Map.of("Origin", "null",
                "Authorization", "Bearer " + TestCredentials.MEMBER)).status()).isEqualTo(403);
    }

    @Test
    void allowedAndSameOriginPagesMayOpenIt() throws Exception {
        for (String origin : List.of("https://chat.example.com", "http://localhost:5173",
                "http://127.0.0.1:" + server.httpUri().getPort())) {
            RawHandshake.Answer answer = handshake(Map.of("Origin", origin,
                    "Authorization", "Bearer " + TestCredentials.MEMBER));
            assertThat(answer.status()).as(origin).isEqualTo(101);
        }
        var client = open(http.newWebSocketBuilder().header("Origin", "https://chat.example.com")
                .header("Authorization", "Bearer " + TestCredentials.MEMBER));
        assertAnswersPing(client);
    }

    @Test
    void aSocketIsClosedWith4401WhenItsCredentialExpires() throws Exception {
        String credential = server.credentials.add("test-short",
                TestCredentials.principal("erin", Role.MEMBER, Instant.now().plusMillis(800), "cred-short"));
        var client = open(http.newWebSocketBuilder().header("Authorization", "Bearer " + credential));
        client.send("{\"type\":\"send\",\"id\":\"r1\",\"content\":\"hold\"}");
        await().atMost(Duration.ofSeconds(10)).until(() -> chat.turnWithContent("hold") != null);

        WsTestClient.Close close = client.awaitClose();
        assertThat(close.code()).isEqualTo(4401);
        assertThat(close.reason()).isEqualTo("credential expired");
        // The turn in progress is cancelled as for a client that went away (core stores what arrived).
        await().atMost(Duration.ofSeconds(10)).until(() -> chat.turnWithContent("hold").wasCancelled());
    }

    @Test
    void aSocketIsClosedWith4401WhenItsCredentialIsRevokedAndOthersStayOpen() throws Exception {
        var revoked = open(http.newWebSocketBuilder().header("Authorization", "Bearer " + TestCredentials.MEMBER));
        String other = server.credentials.add("test-other",
                TestCredentials.principal("alice", Role.MEMBER, null, "cred-other"));
        var sameSubjectOtherCredential = open(http.newWebSocketBuilder().header("Authorization", "Bearer " + other));
        revoked.send("{\"type\":\"send\",\"id\":\"r1\",\"content\":\"hold\"}");
        await().atMost(Duration.ofSeconds(10)).until(() -> chat.turnWithContent("hold") != null);

        server.servlet().handleEvent(revokedEvent("alice", "acme", "cred-member"));

        WsTestClient.Close close = revoked.awaitClose();
        assertThat(close.code()).isEqualTo(4401);
        assertThat(close.reason()).isEqualTo("credential revoked");
        await().atMost(Duration.ofSeconds(10)).until(() -> chat.turnWithContent("hold").wasCancelled());
        assertAnswersPing(sameSubjectOtherCredential);
    }

    @Test
    void revokingEverythingOfASubjectClosesAllItsSocketsInItsTenantOnly() throws Exception {
        var first = open(http.newWebSocketBuilder().header("Authorization", "Bearer " + TestCredentials.MEMBER));
        String other = server.credentials.add("test-other",
                TestCredentials.principal("alice", Role.MEMBER, null, "cred-other"));
        var second = open(http.newWebSocketBuilder().header("Authorization", "Bearer " + other));
        String otherTenant = server.credentials.add("test-elsewhere", new dev.parley.api.identity.Principal("alice",
                "globex", java.util.Set.of(Role.MEMBER), dev.parley.api.identity.AuthMethod.API_KEY, "test",
                java.util.Set.of(), null, "cred-elsewhere"));
        var elsewhere = open(http.newWebSocketBuilder().header("Authorization", "Bearer " + otherTenant));

        server.servlet().handleEvent(revokedEvent("alice", "acme", ""));

        assertThat(first.awaitClose().code()).isEqualTo(4401);
        assertThat(second.awaitClose().code()).isEqualTo(4401);
        assertAnswersPing(elsewhere);
    }

    private static Event revokedEvent(String subject, String tenant, String credentialId) {
        Map<String, Object> props = new HashMap<>();
        props.put(IdentityEvents.SUBJECT, subject);
        props.put(IdentityEvents.TENANT, tenant);
        props.put(IdentityEvents.CREDENTIAL_ID, credentialId);
        return new Event(IdentityEvents.REVOKED, props);
    }
}
