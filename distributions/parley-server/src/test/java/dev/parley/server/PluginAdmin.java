package dev.parley.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.parley.registry.Signatures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A client of one Parley process's plugin surfaces over HTTP, as an admin and a publisher would use them: the
 * registry's publish endpoint, the admin API, the models list and a chat, all with the break-glass admin token.
 */
final class PluginAdmin {
    static final ObjectMapper JSON = new ObjectMapper();
    /** The example plugin's id, publisher and model (see examples/echo-provider). */
    static final String ECHO_ID = "example.echo";
    static final String ECHO_PUBLISHER = "parley-examples";
    static final String ECHO_MODEL = "echo-1";

    record Reply(int status, String body) {
        JsonNode json() {
            try {
                return body.isEmpty() ? JsonNodeFactory.instance.missingNode() : JSON.readTree(body);
            } catch (IOException e) {
                throw new IllegalStateException("not JSON (status " + status + "): " + body, e);
            }
        }
    }

    private final ParleyProcess node;
    private final String adminToken;
    private final HttpClient http = HttpClient.newHttpClient();

    PluginAdmin(ParleyProcess node, String adminToken) {
        this.node = node;
        this.adminToken = adminToken;
    }

    /** The example plugin jar as built by its own project, copied into place by the build. */
    static byte[] exampleJar() {
        try {
            return Files.readAllBytes(Path.of(System.getProperty("parley.test.plugins", "target/plugins"), "echo-provider.jar"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Reply addPublisher(String id, String publicKey) {
        return admin(json("/api/v1/admin/registry/publishers", Map.of("id", id, "publicKey", publicKey)));
    }

    /** Signs {@code jar} with {@code privateKey} and publishes it to the stable channel. */
    Reply publish(byte[] jar, String privateKey) {
        return send(request("/api/v1/registry/plugins").header("Content-Type", "application/java-archive")
                .header("X-Parley-Signature", Base64.getEncoder().encodeToString(Signatures.sign(jar, privateKey)))
                .POST(HttpRequest.BodyPublishers.ofByteArray(jar)));
    }

    Reply install(String id, String version) {
        return admin(json("/api/v1/admin/plugins", Map.of("id", id, "version", version)));
    }

    Reply upgrade(String id, String version) {
        return admin(json("/api/v1/admin/plugins/" + id + "/upgrade", Map.of("version", version)));
    }

    Reply uninstall(String id) {
        return admin(request("/api/v1/admin/plugins/" + id).DELETE());
    }

    Reply state(String id) {
        return admin(request("/api/v1/admin/plugins/" + id).GET());
    }

    Reply list() {
        return admin(request("/api/v1/admin/plugins").GET());
    }

    Reply events(String id) {
        return admin(request("/api/v1/admin/plugins/" + id + "/events?limit=500").GET());
    }

    Reply settings(String id) {
        return admin(request("/api/v1/admin/plugins/" + id + "/settings").GET());
    }

    Reply configure(String id, String pid, Map<String, Object> values) {
        try {
            String body = JSON.writeValueAsString(Map.of("settings", Map.of(pid, values)));
            return admin(request("/api/v1/admin/plugins/" + id + "/settings").header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString(body)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** This plugin's status as node {@code nodeId} reported it, from the admin view of {@code pluginId}. */
    static Optional<JsonNode> nodeStatus(JsonNode state, String nodeId) {
        for (JsonNode n : state.path("nodes")) {
            if (n.path("nodeId").asText().equals(nodeId)) {
                return Optional.of(n);
            }
        }
        return Optional.empty();
    }

    List<String> modelIds() {
        var reply = send(request("/api/v1/models").GET());
        if (reply.status() != 200) {
            throw new IllegalStateException("GET /api/v1/models: " + reply.status() + " " + reply.body());
        }
        var ids = new ArrayList<String>();
        reply.json().path("items").forEach(m -> ids.add(m.path("id").asText()));
        return ids;
    }

    /** One chat turn in a new conversation; the answer's text, or the failure's status and problem. */
    Reply chat(String model, String question) {
        var created = send(json("/api/v1/conversations", Map.of()));
        if (created.status() != 201 && created.status() != 200) {
            return created;
        }
        String id = created.json().path("id").asText();
        var answer = send(json("/api/v1/conversations/" + id + "/messages", Map.of("content", question, "model", model)));
        return answer.status() == 200 ? new Reply(200, answer.json().at("/answer/content").asText()) : answer;
    }

    /** The answer text of a chat, or null when the chat failed (for awaiting). */
    String answer(String model, String question) {
        var r = chat(model, question);
        return r.status() == 200 ? r.body() : null;
    }

    /** Every call carries the admin token: publishing, the admin API and chat all need a credential. */
    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(node.uri(path)).header("Authorization", "Bearer " + adminToken);
    }

    private HttpRequest.Builder json(String path, Map<String, ?> body) {
        try {
            return request(path).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Reply admin(HttpRequest.Builder request) {
        return send(request);
    }

    private Reply send(HttpRequest.Builder request) {
        try {
            var r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
