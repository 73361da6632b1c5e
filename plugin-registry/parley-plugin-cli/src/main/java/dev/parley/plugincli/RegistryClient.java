package dev.parley.plugincli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** The registry's HTTP API as the command line uses it. */
final class RegistryClient {

    static final String SIGNATURE_HEADER = "X-Parley-Signature";
    static final String PLUGINS_PATH = "/api/v1/registry/plugins";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final HttpClient http;
    private final Duration timeout;
    /** An API key or access token with the registry:publish permission; null sends none. */
    private final String token;

    RegistryClient(String registryUrl, Duration timeout, String token) {
        URI uri;
        try {
            uri = URI.create(registryUrl.endsWith("/") ? registryUrl.substring(0, registryUrl.length() - 1) : registryUrl);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("registry URL '" + registryUrl + "' is not a URL");
        }
        if (uri.getScheme() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))
                || uri.getHost() == null) {
            throw new IllegalArgumentException("registry URL '" + registryUrl + "' must be http(s)://host[:port]");
        }
        this.base = uri;
        this.timeout = timeout;
        this.token = token == null || token.isBlank() ? null : token.strip();
        this.http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** Whether this Java's HTTP client reads a final answer to {@code Expect: 100-continue} (JDK-8286171). */
    static final boolean EXPECT_CONTINUE_WORKS = Runtime.version().feature() >= 19;

    Reply publish(byte[] jar, String signatureBase64, String channel) throws IOException, InterruptedException {
        URI uri = URI.create(base + PLUGINS_PATH + "?channel=" + URLEncoder.encode(channel, StandardCharsets.UTF_8));
        HttpRequest request = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header("Content-Type", "application/octet-stream")
                .header("Accept", "application/json, application/problem+json")
                .header(SIGNATURE_HEADER, signatureBase64)
                // The registry refuses a jar over its limit from Content-Length: with 100-continue the jar is not
                // sent at all then. Java 17's client hangs on a final answer to it (JDK-8286171, fixed in 19), so
                // there the jar goes out at once and the refusal, a Content-Length-framed 413, is read all the same.
                .expectContinue(EXPECT_CONTINUE_WORKS)
                .POST(HttpRequest.BodyPublishers.ofByteArray(jar))
                .build();
        return send(request);
    }

    Reply list() throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + PLUGINS_PATH))
                .timeout(timeout)
                .header("Accept", "application/json")
                .GET()
                .build();
        return send(request);
    }

    private Reply send(HttpRequest request) throws IOException, InterruptedException {
        if (token != null) {
            request = HttpRequest.newBuilder(request, (name, value) -> true)
                    .header("Authorization", "Bearer " + token).build();
        }
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        return new Reply(response.statusCode(), response.body());
    }

    /** One HTTP answer; {@link #json()} is null when the body is not JSON. */
    record Reply(int status, String body) {
        boolean ok() {
            return status >= 200 && status < 300;
        }

        JsonNode json() {
            try {
                return body == null || body.isBlank() ? null : JSON.readTree(body);
            } catch (IOException notJson) {
                return null;
            }
        }

        /** What went wrong, from an RFC 9457 problem body when there is one. */
        String problem() {
            JsonNode p = json();
            if (p != null && p.isObject() && p.hasNonNull("title")) {
                String detail = p.path("detail").asText("");
                return "HTTP " + status + " " + p.get("title").asText() + (detail.isEmpty() ? "" : ": " + detail);
            }
            String text = body == null ? "" : body.strip();
            if (text.length() > 300) {
                text = text.substring(0, 300) + "...";
            }
            return "HTTP " + status + (text.isEmpty() ? "" : ": " + text);
        }
    }

    static String pretty(JsonNode node) throws IOException {
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node);
    }
}
