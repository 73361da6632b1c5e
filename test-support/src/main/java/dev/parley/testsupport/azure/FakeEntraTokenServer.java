package dev.parley.testsupport.azure;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback Microsoft Entra ID token endpoint for the OAuth 2.0 client-credentials grant.
 *
 * <p>Followed: Microsoft identity platform, "OAuth 2.0 client credentials flow" — "First case: Access token request
 * with a shared secret": {@code POST /{tenant}/oauth2/v2.0/token}, form-encoded {@code client_id}, {@code scope},
 * {@code client_secret}, {@code grant_type=client_credentials}; the success answer {@code {"token_type": "Bearer",
 * "expires_in": 3599, "ext_expires_in": 3599, "access_token": "..."}}; the error answer {@code {"error",
 * "error_description", "error_codes", "timestamp", "trace_id", "correlation_id"}} — 401 {@code invalid_client}
 * (AADSTS7000215, wrong secret), 400 {@code invalid_scope} (AADSTS70011), 400 {@code invalid_request} (AADSTS90002,
 * unknown tenant), 400 {@code unsupported_grant_type}.
 */
public final class FakeEntraTokenServer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final ExecutorService executor;
    private final String tenant;
    private final String clientId;
    private final String clientSecret;
    private final String scope;
    private final Set<String> issued = ConcurrentHashMap.newKeySet();
    private final List<AzureRequest> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger tokens = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile long expiresIn = 3599;

    private FakeEntraTokenServer(String tenant, String clientId, String clientSecret, String scope) throws IOException {
        this.tenant = tenant;
        this.clientId = clientId;
        this.clientSecret = clientSecret;
        this.scope = scope;
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        AtomicInteger n = new AtomicInteger();
        this.executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "fake-entra-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    /** Issues tokens for {@code scope} to this one client of this one tenant. */
    public static FakeEntraTokenServer start(String tenant, String clientId, String clientSecret, String scope) {
        try {
            return new FakeEntraTokenServer(tenant, clientId, clientSecret, scope);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start fake Entra ID server", e);
        }
    }

    /** The authority host, e.g. {@code http://127.0.0.1:12345}. */
    public String authorityHost() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** The {@code expires_in} of tokens issued from now on. */
    public FakeEntraTokenServer expiresIn(long seconds) {
        this.expiresIn = seconds;
        return this;
    }

    /** Whether this server issued {@code token}. */
    public boolean isValid(String token) {
        return issued.contains(token);
    }

    /** How many tokens were issued. */
    public int issuedCount() {
        return tokens.get();
    }

    public List<AzureRequest> requests() {
        return List.copyOf(requests);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            server.stop(0);
            executor.shutdownNow();
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String raw = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            Map<String, List<String>> headers = new HashMap<>();
            ex.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
            Map<String, String> form = form(raw);
            requests.add(new AzureRequest(ex.getRequestMethod(), ex.getRequestURI().getPath(), form, headers,
                    MissingNode.getInstance(), raw));
            String path = ex.getRequestURI().getPath();
            String expected = "/" + tenant + "/oauth2/v2.0/token";
            if (!path.endsWith("/oauth2/v2.0/token")) {
                send(ex, 404, JSON.createObjectNode().put("error", "not_found"));
                return;
            }
            if (!path.equals(expected)) {
                error(ex, 400, "invalid_request", 90002, "AADSTS90002: Tenant '" + path.split("/")[1]
                        + "' not found. Check to make sure you have the correct tenant ID and are signing into the "
                        + "correct cloud.");
                return;
            }
            String contentType = ex.getRequestHeaders().getFirst("Content-Type");
            if (!"POST".equals(ex.getRequestMethod()) || contentType == null
                    || !contentType.startsWith("application/x-www-form-urlencoded")) {
                error(ex, 400, "invalid_request", 900144,
                        "AADSTS900144: The request body must contain the following parameter: 'grant_type'.");
                return;
            }
            if (!"client_credentials".equals(form.get("grant_type"))) {
                error(ex, 400, "unsupported_grant_type", 70003,
                        "AADSTS70003: The app requested an unsupported grant type.");
                return;
            }
            if (!clientId.equals(form.get("client_id")) || !clientSecret.equals(form.get("client_secret"))) {
                error(ex, 401, "invalid_client", 7000215, "AADSTS7000215: Invalid client secret provided. Ensure the "
                        + "secret being sent in the request is the client secret value, not the client secret ID, "
                        + "for a secret added to app '" + form.get("client_id") + "'.");
                return;
            }
            if (!scope.equals(form.get("scope"))) {
                error(ex, 400, "invalid_scope", 70011, "AADSTS70011: The provided request must include a 'scope' "
                        + "input parameter. The provided value for the input parameter 'scope' is not valid.");
                return;
            }
            String token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fake-entra." + tokens.incrementAndGet();
            issued.add(token);
            send(ex, 200, JSON.createObjectNode().put("token_type", "Bearer").put("expires_in", expiresIn)
                    .put("ext_expires_in", expiresIn).put("access_token", token));
        }
    }

    private static void error(HttpExchange ex, int status, String error, int code, String description)
            throws IOException {
        ObjectNode body = JSON.createObjectNode().put("error", error).put("error_description", description);
        body.putArray("error_codes").add(code);
        body.put("timestamp", "2026-12-05 00:00:00Z").put("trace_id", "00000000-0000-0000-0000-000000000001")
                .put("correlation_id", "00000000-0000-0000-0000-000000000002");
        send(ex, status, body);
    }

    private static void send(HttpExchange ex, int status, ObjectNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static Map<String, String> form(String raw) {
        Map<String, String> m = new HashMap<>();
        if (raw == null || raw.isEmpty()) {
            return m;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            m.putIfAbsent(URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8),
                    eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return m;
    }
}
