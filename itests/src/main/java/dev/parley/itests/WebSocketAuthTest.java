package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.IdentityEvents;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.testsupport.ws.RawHandshake;
import jakarta.servlet.Filter;
import jakarta.servlet.http.HttpServletRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventAdmin;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * The chat WebSocket's handshake in the shipped runtime: the whiteboard's filters (the edge among them) see it, a
 * refusal is an HTTP answer with a problem body, the Origin is checked first, and an open socket is closed with
 * 4401 when its credential expires or is revoked. Credentials come from a {@link BearerAuthenticator} registered by
 * the test, as an identity bundle would register one.
 */
class WebSocketAuthTest {
    private static final String PATH = "/api/v1/chat/ws";
    private static final ObjectMapper JSON = new ObjectMapper();

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 20_000)
    EventAdmin events;

    Server server;
    final TestCredentials credentials = new TestCredentials();
    ServiceRegistration<BearerAuthenticator> registration;
    final HttpClient client = HttpClient.newHttpClient();
    final List<Socket> sockets = new CopyOnWriteArrayList<>();

    @BeforeEach
    void connect() {
        server = new Server(http.getServiceReference());
        registration = context.registerService(BearerAuthenticator.class, credentials, null);
        await().atMost(Duration.ofSeconds(30)).until(() -> server.get("health/ready").status() == 200);
    }

    @AfterEach
    void unregister() {
        sockets.forEach(s -> s.ws.abort());
        registration.unregister();
    }

    @Test
    void theHandshakePassesTheWhiteboardFilters() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        Filter probe = (req, res, chain) -> {
            HttpServletRequest r = (HttpServletRequest) req;
            seen.add(r.getMethod() + " " + r.getRequestURI() + " upgrade=" + r.getHeader("Upgrade"));
            chain.doFilter(req, res);
        };
        var props = new Hashtable<String, Object>();
        props.put("osgi.http.whiteboard.filter.pattern", PATH);
        props.put("service.ranking", Integer.MAX_VALUE);
        ServiceRegistration<Filter> reg = context.registerService(Filter.class, probe, props);
        try {
            // The probe is in place once it sees a plain request to the path.
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                server.get(PATH.substring(1));
                return !seen.isEmpty();
            });
            seen.clear();
            Socket socket = open(builder().header("Authorization", "Bearer " + TestCredentials.MEMBER));
            assertAnswersPing(socket);
            assertThat(seen).containsExactly("GET " + PATH + " upgrade=websocket");
        } finally {
            reg.unregister();
        }
    }

    @Test
    void withoutACredentialTheEdgeAnswers401WithAProblem() throws Exception {
        RawHandshake.Answer answer = handshake(Map.of());
        assertThat(answer.status()).isEqualTo(401);
        assertThat(answer.header("Content-Type")).startsWith("application/problem+json");
        assertThat(JSON.readTree(answer.body()).get("code").asText()).isEqualTo("unauthorized");
    }

    @Test
    void aWrongCredentialIs401() throws Exception {
        assertThat(handshake(Map.of("Authorization", "Bearer ws-nobody")).status()).isEqualTo(401);
        assertThat(handshake(Map.of("Sec-WebSocket-Protocol", "parley.bearer.ws-nobody, parley.v1")).status())
                .isEqualTo(401);
    }

    @Test
    void aPrincipalWithoutChatIs403() throws Exception {
        RawHandshake.Answer answer = handshake(Map.of("Authorization", "Bearer " + TestCredentials.VIEWER));
        assertThat(answer.status()).isEqualTo(403);
        assertThat(JSON.readTree(answer.body()).get("code").asText()).isEqualTo("forbidden");
    }

    @Test
    void aHeaderCredentialOpensTheSocket() throws Exception {
        assertAnswersPing(open(builder().header("Authorization", "Bearer " + TestCredentials.MEMBER)));
        // The break-glass admin token is an owner: it may chat too.
        assertAnswersPing(open(builder().header("Authorization", "Bearer " + Server.adminToken(context))));
    }

    @Test
    void aSubprotocolCredentialOpensTheSocketAndTheAnswerNamesOnlyParleyV1() throws Exception {
        Socket socket = open(builder().subprotocols("parley.bearer." + TestCredentials.MEMBER, "parley.v1"));
        assertAnswersPing(socket);
        assertThat(socket.ws.getSubprotocol()).isEqualTo("parley.v1");

        RawHandshake.Answer answer = handshake(Map.of("Sec-WebSocket-Protocol",
                "parley.bearer." + TestCredentials.MEMBER + ", parley.v1"));
        assertThat(answer.status()).isEqualTo(101);
        assertThat(answer.header("Sec-WebSocket-Protocol")).isEqualTo("parley.v1");
        assertThat(answer.headers().toString()).doesNotContain(TestCredentials.MEMBER);
    }

    @Test
    void aForeignOriginIs403BeforeTheCredentialIsLookedAt() throws Exception {
        RawHandshake.Answer withCredential = handshake(Map.of("Origin", "https://evil.example",
                "Authorization", "Bearer " + TestCredentials.MEMBER));
        assertThat(withCredential.status()).isEqualTo(403);
        assertThat(JSON.readTree(withCredential.body()).get("detail").asText()).contains("origin");
        // Without one: still 403 from the Origin check, not the edge's 401.
        RawHandshake.Answer without = handshake(Map.of("Origin", "https://evil.example"));
        assertThat(without.status()).isEqualTo(403);
        assertThat(credentials.asked).doesNotContain(TestCredentials.MEMBER);
    }

    @Test
    void anAllowedOriginIsAccepted() throws Exception {
        // The defaults allow pages served from localhost on any port (a console in development) and the server's own.
        assertThat(handshake(Map.of("Origin", "http://localhost:5173",
                "Authorization", "Bearer " + TestCredentials.MEMBER)).status()).isEqualTo(101);
        String own = "http://" + server.base.getHost() + ":" + server.base.getPort();
        Socket socket = open(builder().header("Origin", own).header("Authorization", "Bearer " + TestCredentials.MEMBER));
        assertAnswersPing(socket);
    }

    @Test
    void aSocketIsClosedWith4401WhenItsCredentialExpires() throws Exception {
        credentials.add("ws-short", new Principal("erin", "acme", Set.of(Role.MEMBER), AuthMethod.API_KEY, "test",
                Set.of(), Instant.now().plusMillis(1_500), "cred-short"));
        Socket socket = open(builder().header("Authorization", "Bearer ws-short"));
        assertAnswersPing(socket);
        WebSocketClose close = socket.closed.get(20, TimeUnit.SECONDS);
        assertThat(close.code()).isEqualTo(4401);
        assertThat(close.reason()).isEqualTo("credential expired");
    }

    @Test
    void aSocketIsClosedWith4401WhenARevokedEventNamesItsCredential() throws Exception {
        credentials.add("ws-kept", new Principal("alice", "acme", Set.of(Role.MEMBER), AuthMethod.API_KEY, "test",
                Set.of(), null, "cred-kept"));
        Socket revoked = open(builder().header("Authorization", "Bearer " + TestCredentials.MEMBER));
        Socket kept = open(builder().header("Authorization", "Bearer ws-kept"));
        assertAnswersPing(revoked);

        events.sendEvent(new Event(IdentityEvents.REVOKED, Map.of(IdentityEvents.SUBJECT, "alice",
                IdentityEvents.TENANT, "acme", IdentityEvents.CREDENTIAL_ID, "cred-member")));

        WebSocketClose close = revoked.closed.get(20, TimeUnit.SECONDS);
        assertThat(close.code()).isEqualTo(4401);
        assertThat(close.reason()).isEqualTo("credential revoked");
        assertAnswersPing(kept);
    }

    private RawHandshake.Answer handshake(Map<String, String> headers) throws Exception {
        return RawHandshake.send(server.base, PATH, headers);
    }

    private WebSocket.Builder builder() {
        return client.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10));
    }

    private Socket open(WebSocket.Builder builder) throws Exception {
        var socket = new Socket();
        URI uri = URI.create(server.base.toString().replaceFirst("^http", "ws") + PATH.substring(1));
        socket.ws = builder.buildAsync(uri, socket).get(10, TimeUnit.SECONDS);
        sockets.add(socket);
        return socket;
    }

    private static void assertAnswersPing(Socket socket) throws Exception {
        socket.ws.sendText("{\"type\":\"ping\",\"id\":\"p\"}", true).get(5, TimeUnit.SECONDS);
        JsonNode frame = socket.frames.poll(10, TimeUnit.SECONDS);
        assertThat(frame).as("a frame within 10 s").isNotNull();
        assertThat(frame.get("type").asText()).isEqualTo("pong");
    }

    record WebSocketClose(int code, String reason) {
    }

    /** One client socket: its frames as JSON, and how it was closed. */
    private static final class Socket implements WebSocket.Listener {
        final LinkedBlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
        final CompletableFuture<WebSocketClose> closed = new CompletableFuture<>();
        private final StringBuilder partial = new StringBuilder();
        WebSocket ws;

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                try {
                    frames.add(JSON.readTree(partial.toString()));
                } catch (Exception e) {
                    closed.completeExceptionally(e);
                }
                partial.setLength(0);
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            closed.complete(new WebSocketClose(statusCode, reason));
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            closed.completeExceptionally(error);
        }
    }

    /** Credentials starting {@code ws-}; remembers which it was asked to check. */
    private static final class TestCredentials implements BearerAuthenticator {
        static final String MEMBER = "ws-member";
        static final String VIEWER = "ws-viewer";
        final Map<String, Principal> principals = new ConcurrentHashMap<>();
        final List<String> asked = new CopyOnWriteArrayList<>();

        TestCredentials() {
            add(MEMBER, new Principal("alice", "acme", Set.of(Role.MEMBER), AuthMethod.API_KEY, "test", Set.of(), null,
                    "cred-member"));
            add(VIEWER, new Principal("victor", "acme", Set.of(Role.VIEWER), AuthMethod.API_KEY, "test", Set.of(),
                    null, "cred-viewer"));
        }

        void add(String credential, Principal principal) {
            principals.put(credential, principal);
        }

        @Override
        public boolean recognizes(String credential) {
            return credential.startsWith("ws-");
        }

        @Override
        public Principal authenticate(String credential) {
            asked.add(credential);
            Principal p = principals.get(credential);
            if (p == null) {
                throw new ParleyException(ErrorCode.UNAUTHORIZED, "unknown test credential");
            }
            return p;
        }
    }
}
