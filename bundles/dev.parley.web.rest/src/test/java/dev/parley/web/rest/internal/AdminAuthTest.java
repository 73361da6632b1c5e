package dev.parley.web.rest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.util.Map;
import org.apache.felix.hc.api.execution.HealthCheckExecutor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The admin bearer token and the larger upload limit, applied by the feature to resources of any bundle. */
class AdminAuthTest {

    /** Stands in for an admin resource another bundle registers with the whiteboard. */
    @Path("api/v1/admin/ping")
    public static final class AdminPing {
        @GET
        @Produces(MediaType.APPLICATION_JSON)
        public Map<String, Object> ping() {
            return Map.of("ok", true);
        }
    }

    /** Stands in for the registry's upload resource: counts what it could read. */
    @Path("api/v1/registry/plugins")
    public static final class UploadSink {
        @POST
        @Consumes(MediaType.WILDCARD)
        @Produces(MediaType.APPLICATION_JSON)
        public Map<String, Object> upload(InputStream body) throws IOException {
            return Map.of("bytes", body.readAllBytes().length);
        }
    }

    private final RestServer server = new RestServer(new ScriptedChatService(), new StubHealthChecks());

    @AfterEach
    void close() {
        server.close();
    }

    @Test
    void adminPathsNeedTheBearerToken() throws Exception {
        var none = server.get("api/v1/admin/ping");
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.headers().firstValue("Content-Type")).hasValue(ErrorResponses.PROBLEM_JSON);
        assertThat(server.parse(none).path("type").asText()).endsWith("/unauthorized");

        var wrong = server.send(server.request("api/v1/admin/ping").header("Authorization", "Bearer nope").GET().build());
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(server.parse(wrong).path("detail").asText()).contains("wrong");

        var basic = server.send(server.request("api/v1/admin/ping").header("Authorization", "Basic abc").GET().build());
        assertThat(basic.statusCode()).isEqualTo(401);

        var ok = server.send(server.request("api/v1/admin/ping")
                .header("Authorization", "Bearer " + RestServer.ADMIN_TOKEN).GET().build());
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(server.parse(ok).path("ok").asBoolean()).isTrue();
    }

    @Test
    void unknownAdminPathsAre401NotAHintThatTheyDoNotExist() throws Exception {
        assertThat(server.get("api/v1/admin/nothing-here").statusCode()).isEqualTo(401);
        assertThat(server.get("api/v1/administrator").statusCode()).isEqualTo(404);
    }

    @Test
    void otherPathsNeedNoToken() throws Exception {
        assertThat(server.get("api/v1/conversations").statusCode()).isEqualTo(200);
    }

    @Test
    void pluginUploadsMayExceedTheBodyLimitUpToTheUploadLimit() throws Exception {
        byte[] big = new byte[(int) RestServer.LIMITS.maxBodyBytes() + 16 * 1024];
        var accepted = server.send(server.request("api/v1/registry/plugins")
                .header("Content-Type", "application/octet-stream").POST(HttpRequest.BodyPublishers.ofByteArray(big)).build());
        assertThat(accepted.statusCode()).isEqualTo(200);
        assertThat(server.parse(accepted).path("bytes").asInt()).isEqualTo(big.length);

        // Refused from Content-Length before the body is read: over a raw socket, so no client races the early close.
        assertThat(statusLine("api/v1/registry/plugins", RestServer.MAX_UPLOAD_BYTES + 1)).startsWith("HTTP/1.1 413");
        assertThat(statusLine("api/v1/conversations", big.length)).startsWith("HTTP/1.1 413");
    }

    @Test
    void aClientWaitingForContinueGetsTheRefusalInsteadAndSendsNothing() throws Exception {
        // Expect: 100-continue and no body byte: the 413 must come first, or the client would send the whole body.
        // (Jersey here does not touch the body before its filters; the runtime's JAX-RS whiteboard does, which
        // PublisherCliIT shows on the exported server.)
        assertThat(expectingContinue("api/v1/registry/plugins", RestServer.MAX_UPLOAD_BYTES + 1))
                .startsWith("HTTP/1.1 413");
        assertThat(expectingContinue("api/v1/conversations", RestServer.LIMITS.maxBodyBytes() + 1))
                .startsWith("HTTP/1.1 413");
        assertThat(expectingContinue("v1/embeddings", RestServer.LIMITS.maxBodyBytes() + 1))
                .startsWith("HTTP/1.1 413");
        // Within the limit the container tells the client to go on.
        assertThat(expectingContinue("api/v1/registry/plugins", RestServer.MAX_UPLOAD_BYTES))
                .startsWith("HTTP/1.1 100");
    }

    private String expectingContinue(String path, long contentLength) throws IOException {
        try (var socket = new java.net.Socket(server.base.getHost(), server.base.getPort())) {
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write(("POST /" + path + " HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/octet-stream\r\nExpect: 100-continue\r\nContent-Length: "
                    + contentLength + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            return new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                    java.nio.charset.StandardCharsets.US_ASCII)).readLine();
        }
    }

    private String statusLine(String path, long contentLength) throws IOException {
        try (var socket = new java.net.Socket(server.base.getHost(), server.base.getPort())) {
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write(("POST /" + path + " HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/octet-stream\r\nContent-Length: " + contentLength
                    + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            // A first slice of the body, so a server that waits for one before answering is not left hanging.
            socket.getOutputStream().write(new byte[1024]);
            socket.getOutputStream().flush();
            return new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                    java.nio.charset.StandardCharsets.US_ASCII)).readLine();
        }
    }
}
