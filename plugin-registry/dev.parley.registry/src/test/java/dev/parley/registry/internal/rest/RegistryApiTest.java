package dev.parley.registry.internal.rest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import org.glassfish.jersey.server.ResourceConfig;
import org.glassfish.jersey.server.ServerProperties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.resource.Resource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import aQute.bnd.osgi.repository.XMLResourceParser;
import dev.parley.registry.Signatures;
import dev.parley.registry.TestJars;
import dev.parley.registry.internal.VerifyingPluginRegistry;
import dev.parley.registry.internal.local.LocalDirectoryStorage;
import dev.parley.web.rest.internal.AdminTokenAuthenticator;
import dev.parley.web.rest.internal.EdgeAuthFilter;
import dev.parley.web.rest.internal.ParleyRestFeature;
import dev.parley.web.rest.internal.RestConfig;

/** The registry resources with web.rest's JSON/error/limits Feature on Jersey's JDK HTTP server, over loopback. */
class RegistryApiTest {
    static final String ADMIN_TOKEN = "test-admin-token";
    static final long MAX_BODY = 64 * 1024;
    static final long MAX_ARTIFACT = 256 * 1024;

    @TempDir
    Path dir;

    private final String[] acme = Signatures.generateKeyPair();
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final ObjectMapper json = new ObjectMapper();
    private org.eclipse.jetty.server.Server jetty;
    private URI base;
    private VerifyingPluginRegistry registry;

    @BeforeEach
    void start() {
        registry = new VerifyingPluginRegistry(new LocalDirectoryStorage(dir), MAX_ARTIFACT,
                java.time.Clock.systemUTC());
        ResourceConfig config = new ResourceConfig()
                .property(ServerProperties.WADL_FEATURE_DISABLE, true)
                .register(new ParleyRestFeature(restConfig()))
                .register(new RegistryResource(registry, MAX_ARTIFACT))
                .register(new AdminRegistryResource(registry));
        jetty = new org.eclipse.jetty.server.Server();
        var connector = new org.eclipse.jetty.server.ServerConnector(jetty);
        connector.setHost("127.0.0.1");
        jetty.addConnector(connector);
        // The edge in front, as the HTTP whiteboard puts it in front of every resource: the admin token is an owner.
        var edge = new EdgeAuthFilter();
        edge.addAuthenticator(new AdminTokenAuthenticator(ADMIN_TOKEN));
        var handler = new org.eclipse.jetty.ee10.servlet.ServletContextHandler();
        handler.addFilter(new org.eclipse.jetty.ee10.servlet.FilterHolder(edge), "/*",
                java.util.EnumSet.of(jakarta.servlet.DispatcherType.REQUEST));
        handler.addServlet(new org.eclipse.jetty.ee10.servlet.ServletHolder(
                new org.glassfish.jersey.servlet.ServletContainer(config)), "/*");
        jetty.setHandler(handler);
        try {
            jetty.start();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        base = URI.create("http://127.0.0.1:" + connector.getLocalPort() + "/");
    }

    @AfterEach
    void stop() throws Exception {
        jetty.stop();
    }

    @Test
    void publishesListsAndServesAPlugin() throws Exception {
        addAcme();
        byte[] jar = TestJars.plugin().build();

        HttpResponse<String> created = publish(jar, sign(jar), "stable");
        assertThat(created.statusCode()).isEqualTo(201);
        JsonNode entry = json.readTree(created.body());
        assertThat(entry.get("id").asText()).isEqualTo("example.echo");
        assertThat(entry.get("version").asText()).isEqualTo("1.0.0");
        assertThat(entry.get("sha256").asText()).isEqualTo(Signatures.sha256Hex(jar));
        assertThat(entry.get("downloadUrl").asText()).isEqualTo(base + "api/v1/registry/plugins/example.echo/1.0.0/artifact");
        assertThat(created.headers().firstValue("Location")).hasValue(base + "api/v1/registry/plugins/example.echo/1.0.0");

        HttpResponse<String> again = publish(jar, sign(jar), "stable");
        assertProblem(again, 409, "conflict", "example.echo 1.0.0 is already published; versions are immutable");

        byte[] beta = TestJars.plugin("example.echo", "1.1.0").build();
        assertThat(publish(beta, sign(beta), "beta").statusCode()).isEqualTo(201);

        JsonNode stable = json.readTree(get("api/v1/registry/plugins").body()).get("plugins");
        assertThat(stable).hasSize(1);
        assertThat(stable.get(0).get("latest").asText()).isEqualTo("1.0.0");
        assertThat(stable.get(0).get("latestStable").asText()).isEqualTo("1.0.0");
        assertThat(stable.get(0).get("versions")).hasSize(1);
        JsonNode v = stable.get(0).get("versions").get(0);
        assertThat(v.get("channel").asText()).isEqualTo("stable");
        assertThat(v.get("yanked").asBoolean()).isFalse();
        assertThat(v.get("apiRange").asText()).isEqualTo("[1.0.0,2.0.0)");
        assertThat(v.get("permissions").get(0).get("target").asText()).isEqualTo("api.example.com:443");
        assertThat(v.get("size").asLong()).isEqualTo(jar.length);
        assertThat(v.get("publishedAt").asText()).matches("\\d{4}-\\d{2}-\\d{2}T.*Z");

        JsonNode withBeta = json.readTree(get("api/v1/registry/plugins?channel=beta").body()).get("plugins").get(0);
        assertThat(withBeta.get("latest").asText()).isEqualTo("1.1.0");
        assertThat(withBeta.get("latestStable").asText()).isEqualTo("1.0.0");
        assertThat(withBeta.get("versions")).extracting(n -> n.get("version").asText()).containsExactly("1.1.0", "1.0.0");
        assertProblem(get("api/v1/registry/plugins?channel=nightly"), 400, "invalid-request", "channel");

        assertThat(json.readTree(get("api/v1/registry/plugins/example.echo").body()).get("versions")).hasSize(2);
        assertThat(json.readTree(get("api/v1/registry/plugins/example.echo/1.1.0").body()).get("channel").asText())
                .isEqualTo("beta");

        HttpResponse<byte[]> artifact = client.send(request("api/v1/registry/plugins/example.echo/1.0.0/artifact").GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(artifact.statusCode()).isEqualTo(200);
        assertThat(artifact.body()).isEqualTo(jar);
        assertThat(artifact.headers().firstValue("Content-Type")).hasValue("application/java-archive");
        assertThat(artifact.headers().firstValue("X-Parley-Sha256")).hasValue(Signatures.sha256Hex(jar));
        assertThat(artifact.headers().firstValue("Digest")).hasValue("sha-256="
                + Base64.getEncoder().encodeToString(HexFormat.of().parseHex(Signatures.sha256Hex(jar))));
        String signature = artifact.headers().firstValue("X-Parley-Signature").orElseThrow();
        assertThat(Signatures.verify(artifact.body(), Base64.getDecoder().decode(signature), acme[0])).isTrue();

        HttpResponse<String> sig = get("api/v1/registry/plugins/example.echo/1.0.0/signature");
        assertThat(sig.statusCode()).isEqualTo(200);
        assertThat(sig.body().trim()).isEqualTo(signature);
    }

    @Test
    void unknownThingsAre404() throws Exception {
        assertProblem(get("api/v1/registry/plugins/nope"), 404, "not-found", "No plugin 'nope'");
        assertProblem(get("api/v1/registry/plugins/nope/1.0.0"), 404, "not-found", "No plugin 'nope' version '1.0.0'");
        assertProblem(get("api/v1/registry/plugins/nope/1.0.0/artifact"), 404, "not-found", "No plugin");
        assertProblem(get("api/v1/registry/plugins/nope/not-a-version/signature"), 404, "not-found", "No plugin");
        assertProblem(admin("api/v1/admin/registry/plugins/nope/1.0.0/yank", "{\"reason\":\"x\"}"), 404, "not-found",
                "no plugin nope version 1.0.0");
    }

    @Test
    void refusesBadUploadsWithTheRightStatus() throws Exception {
        addAcme();
        byte[] jar = TestJars.plugin().build();

        assertProblem(publish(jar, null, null), 400, "invalid-request", "X-Parley-Signature is required");
        assertProblem(publish(jar, "%%%", null), 400, "invalid-request", "not valid base64");
        assertProblem(publish("plain text".getBytes(StandardCharsets.UTF_8), sign(jar), null), 400, "invalid-request",
                "not a jar");
        assertProblem(publish(jar, sign(jar), "nightly"), 400, "invalid-request", "stable or beta");

        String wrongKey = Base64.getEncoder().encodeToString(Signatures.sign(jar, Signatures.generateKeyPair()[1]));
        assertProblem(publish(jar, wrongKey, null), 422, "plugin-rejected", "does not verify with the key of publisher 'acme'");

        byte[] stranger = TestJars.plugin().header("Parley-Plugin", "example.echo;type=tool;publisher=stranger").build();
        assertProblem(publish(stranger, sign(stranger), null), 422, "plugin-rejected", "publisher 'stranger'");

        byte[] exporting = TestJars.plugin().header("Export-Package", "com.example.api").build();
        assertProblem(publish(exporting, sign(exporting), null), 422, "plugin-rejected",
                "plugins must not export packages: found Export-Package com.example.api");

        assertThat(json.readTree(get("api/v1/registry/plugins").body()).get("plugins")).isEmpty();
    }

    @Test
    void uploadsMayExceedTheGeneralBodyLimitUpToTheRegistryLimit() throws Exception {
        addAcme();
        byte[] big = TestJars.plugin().content(randomText(150 * 1024)).build();
        assertThat((long) big.length).isGreaterThan(MAX_BODY).isLessThan(MAX_ARTIFACT);
        assertThat(publish(big, sign(big), null).statusCode()).isEqualTo(201);

        byte[] tooBig = TestJars.plugin("example.big", "1.0.0").content(randomText(400 * 1024)).build();
        assertThat((long) tooBig.length).isGreaterThan(MAX_ARTIFACT);
        // Refused from Content-Length before the body is read: a raw socket, so no client races the early close.
        try (var socket = new java.net.Socket(base.getHost(), base.getPort())) {
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write(("POST /api/v1/registry/plugins HTTP/1.1\r\nHost: localhost\r\n"
                    + "Authorization: Bearer " + ADMIN_TOKEN + "\r\n"
                    + "Content-Type: application/java-archive\r\nX-Parley-Signature: " + sign(tooBig) + "\r\n"
                    + "Content-Length: " + tooBig.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            // The start of the body only: the server must answer from Content-Length without waiting for the rest.
            socket.getOutputStream().write(tooBig, 0, 1024);
            socket.getOutputStream().flush();
            String statusLine = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                    StandardCharsets.US_ASCII)).readLine();
            assertThat(statusLine).startsWith("HTTP/1.1 413");
        }
        assertThat(get("api/v1/registry/plugins/example.big").statusCode()).isEqualTo(404);
    }

    @Test
    void servesTheR5IndexWithoutYankedVersions() throws Exception {
        addAcme();
        byte[] v1 = TestJars.plugin("example.echo", "1.0.0").build();
        byte[] v2 = TestJars.plugin("example.echo", "2.0.0").build();
        publish(v1, sign(v1), null);
        publish(v2, sign(v2), null);

        assertProblem(admin("api/v1/admin/registry/plugins/example.echo/1.0.0/yank", "{}"), 400, "invalid-request", "reason");
        HttpResponse<String> yanked = admin("api/v1/admin/registry/plugins/example.echo/1.0.0/yank", "{\"reason\":\"crashes\"}");
        assertThat(yanked.statusCode()).isEqualTo(200);
        assertThat(json.readTree(yanked.body()).get("yankReason").asText()).isEqualTo("crashes");

        HttpResponse<String> index = get("api/v1/registry/index.xml");
        assertThat(index.statusCode()).isEqualTo(200);
        assertThat(index.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/xml");
        List<Resource> resources = XMLResourceParser.getResources(
                new ByteArrayInputStream(index.body().getBytes(StandardCharsets.UTF_8)), base);
        assertThat(resources).hasSize(1);
        assertThat(resources.get(0).getCapabilities("osgi.content").get(0).getAttributes().get("url"))
                .hasToString(base + "api/v1/registry/plugins/example.echo/2.0.0/artifact");
        assertThat(resources.get(0).getCapabilities("parley.plugin").get(0).getAttributes())
                .containsEntry("id", "example.echo").containsEntry("publisher", "acme").containsEntry("type", "tool");

        // yanked stays listed (flagged) and downloadable
        JsonNode versions = json.readTree(get("api/v1/registry/plugins/example.echo").body()).get("versions");
        assertThat(versions.get(1).get("yanked").asBoolean()).isTrue();
        assertThat(get("api/v1/registry/plugins/example.echo/1.0.0/artifact").statusCode()).isEqualTo(200);
    }

    @Test
    void managesPublishers() throws Exception {
        HttpResponse<String> added = addAcme();
        assertThat(added.statusCode()).isEqualTo(201);
        assertThat(json.readTree(added.body()).get("id").asText()).isEqualTo("acme");
        assertThat(addAcme().statusCode()).isEqualTo(200); // same key again: no change

        String other = Signatures.generateKeyPair()[0];
        assertProblem(admin("api/v1/admin/registry/publishers", "{\"id\":\"acme\",\"publicKey\":\"" + other + "\"}"), 409,
                "conflict", "already known with another key");
        assertProblem(admin("api/v1/admin/registry/publishers", "{\"id\":\"bob\",\"publicKey\":\"abcd\"}"), 400,
                "invalid-request", "publicKey");
        assertProblem(admin("api/v1/admin/registry/publishers", "{\"id\":\"Bob!\",\"publicKey\":\"" + other + "\"}"), 400,
                "invalid-request", "Field 'id'");
        assertProblem(admin("api/v1/admin/registry/publishers", "{\"publicKey\":\"" + other + "\"}"), 400,
                "invalid-request", "Field 'id' is required");

        assertProblem(admin("api/v1/admin/registry/publishers", "{\"id\":\"parley\",\"publicKey\":\"" + other + "\"}"),
                409, "conflict", "Publisher id 'parley' is reserved for the plugins the server ships");

        HttpResponse<String> list = send(request("api/v1/admin/registry/publishers").GET().build());
        assertThat(json.readTree(list.body()).get("publishers")).extracting(n -> n.get("id").asText()).containsExactly("acme");
    }

    @Test
    void listsTheOriginOfEachVersionAndRefusesUploadsAsTheDistribution() throws Exception {
        addAcme();
        byte[] jar = TestJars.plugin().build();
        assertThat(publish(jar, sign(jar), "stable").statusCode()).isEqualTo(201);
        byte[] shippedJar = TestJars.plugin("ollama", "1.0.0").header("Parley-Plugin", "ollama;type=provider;publisher=parley")
                .build();
        registry.publishShipped(shippedJar);

        JsonNode plugins = json.readTree(get("api/v1/registry/plugins").body()).get("plugins");
        assertThat(plugins).extracting(n -> n.get("id").asText() + ":" + n.get("origin").asText())
                .containsExactly("example.echo:published", "ollama:distribution");
        JsonNode version = json.readTree(get("api/v1/registry/plugins/ollama/1.0.0").body());
        assertThat(version.get("origin").asText()).isEqualTo("distribution");
        assertThat(version.has("signature")).isFalse();
        assertThat(json.readTree(get("api/v1/registry/plugins/example.echo/1.0.0").body()).get("origin").asText())
                .isEqualTo("published");
        assertProblem(get("api/v1/registry/plugins/ollama/1.0.0/signature"), 404, "not-found",
                "has no signature: it ships with the server");
        HttpResponse<byte[]> artifact = client.send(request("api/v1/registry/plugins/ollama/1.0.0/artifact").GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(artifact.body()).isEqualTo(shippedJar);
        assertThat(artifact.headers().firstValue("X-Parley-Signature")).isEmpty();

        // An upload naming the distribution's publisher is refused whatever it is signed with.
        byte[] forged = TestJars.plugin("ollama", "2.0.0").header("Parley-Plugin", "ollama;type=provider;publisher=parley")
                .build();
        assertProblem(publish(forged, sign(forged), "stable"), 422, "plugin-rejected", "reserved for the plugins the server ships");
        assertThat(registry.entry("ollama", "2.0.0")).isEmpty();
    }

    private HttpResponse<String> addAcme() throws Exception {
        return admin("api/v1/admin/registry/publishers", "{\"id\":\"acme\",\"publicKey\":\"" + acme[0] + "\"}");
    }

    private String sign(byte[] jar) {
        return Base64.getEncoder().encodeToString(Signatures.sign(jar, acme[1]));
    }

    private HttpResponse<String> publish(byte[] jar, String signature, String channel) throws Exception {
        HttpRequest.Builder b = request("api/v1/registry/plugins" + (channel == null ? "" : "?channel=" + channel))
                .header("Content-Type", "application/java-archive")
                .POST(HttpRequest.BodyPublishers.ofByteArray(jar));
        if (signature != null) {
            b.header("X-Parley-Signature", signature);
        }
        return send(b.build());
    }

    private HttpResponse<String> admin(String path, String body) throws Exception {
        return send(request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return send(request(path).GET().build());
    }

    /** With the admin token: an owner, who may publish and read the registry. */
    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + ADMIN_TOKEN);
    }

    private HttpResponse<String> send(HttpRequest request) throws Exception {
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private void assertProblem(HttpResponse<String> response, int status, String code, String detail) throws Exception {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        JsonNode problem = json.readTree(response.body());
        assertThat(problem.get("code").asText()).isEqualTo(code);
        assertThat(problem.get("detail").asText()).contains(detail);
    }

    /** Incompressible, so the jar really is as big as asked. */
    private static String randomText(int length) {
        Random random = new Random(42);
        StringBuilder sb = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            sb.append((char) ('!' + random.nextInt(90)));
        }
        return sb.toString();
    }

    /** web.rest's configuration with its defaults, a small body limit and a known admin token. */
    private static RestConfig restConfig() {
        return (RestConfig) Proxy.newProxyInstance(RestConfig.class.getClassLoader(), new Class<?>[] {RestConfig.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "maxBodyBytes" -> MAX_BODY;
                    case "_adminToken" -> ADMIN_TOKEN;
                    case "annotationType" -> RestConfig.class;
                    case "hashCode" -> 0;
                    case "equals" -> proxy == args[0];
                    case "toString" -> "RestConfig(test)";
                    default -> method.getDefaultValue();
                });
    }
}
