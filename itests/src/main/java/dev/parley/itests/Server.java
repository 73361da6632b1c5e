package dev.parley.itests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.osgi.framework.ServiceReference;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;

/** Talks to the framework's HTTP server over loopback, as any client would. */
public final class Server {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    public final URI base;

    public Server(ServiceReference<HttpServiceRuntime> runtime) {
        Object endpoint = runtime.getProperty("osgi.http.endpoint");
        String first = endpoint instanceof String[] all ? all[0] : String.valueOf(endpoint);
        this.base = URI.create(first.endsWith("/") ? first : first + "/");
    }

    public record Reply(int status, String contentType, String body, java.net.http.HttpHeaders headers) {
        Reply(int status, String contentType, String body) {
            this(status, contentType, body, java.net.http.HttpHeaders.of(java.util.Map.of(), (a, b) -> true));
        }

        /** The first value of a response header, or null. */
        public String header(String name) {
            return headers.firstValue(name).orElse(null);
        }

        public JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON (" + status + "): " + body, e);
            }
        }
    }

    public Reply get(String path) {
        return send(HttpRequest.newBuilder(base.resolve(path)).GET());
    }

    public Reply post(String path, String json) {
        return send(HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    /** A POST of a JSON body, to send with {@link #send} or {@link #admin}. */
    public HttpRequest.Builder jsonPost(String path, String json) {
        return request(path).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json));
    }

    /** Sends with the admin API's bearer token. */
    public Reply admin(HttpRequest.Builder request, String adminToken) {
        return send(request.header("Authorization", "Bearer " + adminToken));
    }

    /** Publishes a plugin jar to the registry with its publisher's detached signature. */
    public Reply publish(byte[] artifact, byte[] signature) {
        return send(request("api/v1/registry/plugins").header("Content-Type", "application/java-archive")
                .header("X-Parley-Signature", java.util.Base64.getEncoder().encodeToString(signature))
                .POST(HttpRequest.BodyPublishers.ofByteArray(artifact)));
    }

    /** The admin token the config bundle generated into the framework's data directory. */
    public static String adminToken(org.osgi.framework.BundleContext context) throws IOException {
        return java.nio.file.Files.readString(java.nio.file.Path.of(context.getProperty("parley.data.dir"), "admin-token"))
                .strip();
    }

    public HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(base.resolve(path));
    }

    /**
     * Sends with the break-glass admin token (an owner of the operator tenant) unless the request names its own
     * credential: most tests are about something else than who may call.
     */
    public Reply send(HttpRequest.Builder request) {
        HttpRequest built = request.timeout(Duration.ofSeconds(30)).build();
        if (built.headers().firstValue("Authorization").isEmpty()) {
            built = HttpRequest.newBuilder(built, (name, value) -> true)
                    .header("Authorization", "Bearer " + defaultToken()).build();
        }
        return exchange(built);
    }

    /** Sends exactly what the request holds: no credential unless it carries one. */
    public Reply sendAnonymous(HttpRequest.Builder request) {
        return exchange(request.timeout(Duration.ofSeconds(30)).build());
    }

    private String defaultToken() {
        try {
            return adminToken(org.osgi.framework.FrameworkUtil.getBundle(Server.class).getBundleContext());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Reply exchange(HttpRequest request) {
        try {
            var r = client.send(request, HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.headers().firstValue("Content-Type").orElse(""), r.body(), r.headers());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Opens the chat WebSocket with {@code credential} as its bearer, sends {@code frame}, and returns the first frame
     * that answers it (then drops the socket).
     */
    public JsonNode firstWebSocketReply(String credential, String frame) throws Exception {
        URI uri = URI.create(base.toString().replaceFirst("^http", "ws") + "api/v1/chat/ws");
        java.util.concurrent.CompletableFuture<String> reply = new java.util.concurrent.CompletableFuture<>();
        java.net.http.WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
                .header("Authorization", "Bearer " + credential)
                .buildAsync(uri, new java.net.http.WebSocket.Listener() {
                    private final StringBuilder text = new StringBuilder();

                    @Override
                    public java.util.concurrent.CompletionStage<?> onText(java.net.http.WebSocket socket,
                            CharSequence data, boolean last) {
                        text.append(data);
                        if (last) {
                            reply.complete(text.toString());
                        }
                        socket.request(1);
                        return null;
                    }
                }).get(20, java.util.concurrent.TimeUnit.SECONDS);
        try {
            ws.sendText(frame, true).get(20, java.util.concurrent.TimeUnit.SECONDS);
            return JSON.readTree(reply.get(20, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            ws.abort();
        }
    }
}
