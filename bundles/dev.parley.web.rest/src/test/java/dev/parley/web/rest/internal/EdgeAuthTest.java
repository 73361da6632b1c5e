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
import java.util.List;
import java.util.Map;
import org.apache.felix.hc.api.execution.HealthCheckExecutor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The edge: credentials and the route's permission on every route, whichever servlet or resource serves it; the
 * larger upload limit the feature applies to the registry's upload.
 */
class EdgeAuthTest {

    /** Stands in for an admin resource another bundle registers with the whiteboard. */
    @Path("api/v1/admin/ping")
    public static final class AdminPing {
        @GET
        @Produces(MediaType.APPLICATION_JSON)
        public Map<String, Object> ping(@jakarta.ws.rs.core.Context jakarta.servlet.http.HttpServletRequest request) {
            var p = (dev.parley.api.identity.Principal) request.getAttribute(
                    dev.parley.api.identity.Principal.REQUEST_ATTRIBUTE);
            return Map.of("subject", p.subject(), "tenant", p.tenantId());
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
    void everyRouteButHealthNeedsACredential() throws Exception {
        for (String path : List.of("api/v1/admin/ping", "api/v1/conversations", "v1/models", "api/v1/models",
                "api/v1/usage", "api/v1/admin/nothing-here", "api/v1/administrator", "")) {
            var none = server.send(server.anonymous(path).GET().build());
            assertThat(none.statusCode()).as(path).isEqualTo(401);
            assertThat(none.headers().firstValue("WWW-Authenticate")).as(path).hasValue("Bearer realm=\"parley\"");
        }
        var problem = server.send(server.anonymous("api/v1/conversations").GET().build());
        assertThat(problem.headers().firstValue("Content-Type")).hasValue(ErrorResponses.PROBLEM_JSON);
        assertThat(server.parse(problem).path("type").asText()).endsWith("/unauthorized");
        assertThat(server.send(server.anonymous("health/live").GET().build()).statusCode()).isEqualTo(200);
    }

    @Test
    void wrongOrMalformedCredentialsAre401WithoutEchoingThem() throws Exception {
        var wrong = as("api/v1/admin/ping", "Bearer nope-not-a-key");
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(wrong.body()).doesNotContain("nope-not-a-key").contains("not one this server accepts");
        assertThat(wrong.headers().firstValue("WWW-Authenticate")).hasValue(
                "Bearer realm=\"parley\", error=\"invalid_token\"");
        assertThat(as("api/v1/admin/ping", "Basic YWRtaW46YWRtaW4=").statusCode()).isEqualTo(401);
        assertThat(as("api/v1/admin/ping", "Bearer ").statusCode()).isEqualTo(401);
        assertThat(as("api/v1/admin/ping", "Bearer " + RestServer.ADMIN_TOKEN + "x").statusCode()).isEqualTo(401);
        var huge = as("api/v1/admin/ping", "Bearer as:owner" + "A".repeat(EdgeAuthFilter.MAX_CREDENTIAL_CHARS));
        assertThat(huge.statusCode()).isEqualTo(401);
        assertThat(server.parse(huge).path("detail").asText()).contains("longer than");
        // Bigger than the container takes at all: refused by Jetty, never a 500.
        var oversized = as("api/v1/admin/ping", "Bearer " + "A".repeat(64 * 1024));
        assertThat(oversized.statusCode()).isEqualTo(431);
    }

    @Test
    void theBreakGlassTokenIsAnOwnerOfTheOperatorTenant() throws Exception {
        var ok = as("api/v1/admin/ping", "Bearer " + RestServer.ADMIN_TOKEN);
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(server.parse(ok).path("subject").asText()).isEqualTo(AdminTokenAuthenticator.SUBJECT);
        assertThat(server.parse(ok).path("tenant").asText()).isEqualTo("default");
        assertThat(new AdminTokenAuthenticator("disabled").recognizes("disabled")).isFalse();
        assertThat(new AdminTokenAuthenticator("").recognizes("")).isFalse();
    }

    @Test
    void rolesDecideWhatARouteAllows() throws Exception {
        assertThat(as("api/v1/conversations", "Bearer as:viewer").statusCode()).isEqualTo(200);
        assertThat(as("v1/models", "Bearer as:viewer").statusCode()).isEqualTo(200);
        var chat = server.send(server.anonymous("v1/chat/completions").header("Authorization", "Bearer as:viewer")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertThat(chat.statusCode()).isEqualTo(403);
        // The compatible API answers in OpenAI's error shape, and names what is missing.
        assertThat(server.parse(chat).path("error").path("message").asText()).contains("'chat'");
        assertThat(chat.headers().firstValue("WWW-Authenticate")).hasValue(
                "Bearer realm=\"parley\", error=\"insufficient_scope\"");
        var admin = as("api/v1/admin/models", "Bearer as:member");
        assertThat(admin.statusCode()).isEqualTo(403);
        assertThat(server.parse(admin).path("type").asText()).endsWith("/forbidden");
        // The router is shared by every tenant: an admin of another tenant may not change it; of the operator's may.
        assertThat(as("api/v1/admin/models", "Bearer as:admin@acme").statusCode()).isEqualTo(403);
        assertThat(as("api/v1/admin/models", "Bearer as:admin").statusCode()).isEqualTo(200);
        // A route no rule names is closed to all but system admins, not open.
        assertThat(as("api/v1/admin/ping", "Bearer as:admin@acme").statusCode()).isEqualTo(403);
        assertThat(as("api/v1/admin/ping", "Bearer as:plugin-admin").statusCode()).isEqualTo(403);
        assertThat(as("api/v1/admin/ping", "Bearer as:admin").statusCode()).isEqualTo(200);
    }

    @Test
    void theAnthropicApiTakesItsKeyHeaderAndAnswersInItsShape() throws Exception {
        var bad = server.send(server.anonymous("v1/messages").header("x-api-key", "wrong")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertThat(bad.statusCode()).isEqualTo(401);
        assertThat(server.parse(bad).path("type").asText()).isEqualTo("error");
        assertThat(server.parse(bad).path("error").path("type").asText()).isEqualTo("authentication_error");
        var viewer = server.send(server.anonymous("v1/messages").header("x-api-key", "as:viewer")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertThat(viewer.statusCode()).isEqualTo(403);
        assertThat(server.parse(viewer).path("error").path("type").asText()).isEqualTo("permission_error");
        // x-api-key counts only under /v1.
        var native_ = server.send(server.anonymous("api/v1/conversations").header("x-api-key", "as:owner").GET().build());
        assertThat(native_.statusCode()).isEqualTo(401);
    }

    @Test
    void anAuthenticatorThatCannotDecideNowIs503AndOneThatBreaksToo() throws Exception {
        var unavailable = as("api/v1/conversations", "Bearer as:unavailable");
        assertThat(unavailable.statusCode()).isEqualTo(503);
        assertThat(unavailable.headers().firstValue("Retry-After")).hasValue("7");
        var broken = as("api/v1/conversations", "Bearer as:broken");
        assertThat(broken.statusCode()).isEqualTo(503);
        assertThat(broken.body()).doesNotContain("authenticator bug").doesNotContain("Exception");
    }

    @Test
    void pathTricksDoNotReachAnotherRule() throws Exception {
        // Dot segments, doubled slashes and path parameters: refused by the container or matched as the route
        // they reach, never as /health.
        for (String path : List.of("health/../api/v1/admin/ping", "health/%2e%2e/api/v1/admin/ping",
                "health;x/../api/v1/admin/ping", "/api/v1/admin/ping", "api/v1/admin;p=1/ping")) {
            var r = as(path, "Bearer as:member");
            assertThat(r.statusCode()).as(path).isIn(400, 403, 404);
            assertThat(server.send(server.anonymous(path).GET().build()).statusCode()).as(path).isIn(400, 401, 404);
        }
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
                    + "Authorization: Bearer " + RestServer.ADMIN_TOKEN + "\r\n"
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
                    + "Authorization: Bearer " + RestServer.ADMIN_TOKEN + "\r\n"
                    + "Content-Type: application/octet-stream\r\nContent-Length: " + contentLength
                    + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            // A first slice of the body, so a server that waits for one before answering is not left hanging.
            socket.getOutputStream().write(new byte[1024]);
            socket.getOutputStream().flush();
            return new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                    java.nio.charset.StandardCharsets.US_ASCII)).readLine();
        }
    }

    private java.net.http.HttpResponse<String> as(String path, String authorization) throws Exception {
        return server.send(server.anonymous(path).header("Authorization", authorization).GET().build());
    }
}
