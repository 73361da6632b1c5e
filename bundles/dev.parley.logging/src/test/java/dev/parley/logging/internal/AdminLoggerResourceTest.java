package dev.parley.logging.internal;

import static dev.parley.logging.internal.TestConfig.config;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.web.rest.internal.AdminTokenAuthenticator;
import dev.parley.web.rest.internal.EdgeAuthFilter;
import dev.parley.web.rest.internal.ParleyRestFeature;
import dev.parley.web.rest.internal.RestConfig;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.glassfish.jersey.server.ResourceConfig;
import org.glassfish.jersey.server.ServerProperties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The resource behind web.rest's edge and its JSON/error Feature, on Jersey's servlet in Jetty, over loopback. */
class AdminLoggerResourceTest {
    static final String ADMIN_TOKEN = "test-admin-token";
    static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final LoggerContext context = new LoggerContext();
    private org.eclipse.jetty.server.Server jetty;
    private URI base;

    @BeforeEach
    void start() {
        context.getLogger("ROOT").setLevel(Level.INFO);
        context.getLogger("org.apache.aries.spifly").setLevel(Level.WARN);
        ResourceConfig rc = new ResourceConfig()
                .property(ServerProperties.WADL_FEATURE_DISABLE, true)
                .register(new ParleyRestFeature(restConfig()))
                .register(new AdminLoggerResource(new LogLevels(context, config(""))));
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
                new org.glassfish.jersey.servlet.ServletContainer(rc)), "/*");
        jetty.setHandler(handler);
        try {
            jetty.start();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        base = URI.create("http://127.0.0.1:" + connector.getLocalPort() + "/api/v1/admin/loggers");
    }

    @AfterEach
    void stop() throws Exception {
        jetty.stop();
        context.stop();
    }

    @Test
    void listsTheConfiguredLevelsAndTheRootLevel() throws Exception {
        var r = send(get(""));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = JSON.readTree(r.body());
        assertThat(body.get("rootLevel").asText()).isEqualTo("INFO");
        assertThat(body.get("loggers")).anySatisfy(l -> {
            assertThat(l.get("name").asText()).isEqualTo("org.apache.aries.spifly");
            assertThat(l.get("level").asText()).isEqualTo("WARN");
            assertThat(l.get("effectiveLevel").asText()).isEqualTo("WARN");
        });
    }

    @Test
    void showsOneLoggerInheritedOrNot() throws Exception {
        JsonNode core = JSON.readTree(send(get("/dev.parley.core.internal.Turn")).body());
        assertThat(core.get("name").asText()).isEqualTo("dev.parley.core.internal.Turn");
        assertThat(core.get("level").isNull()).isTrue();
        assertThat(core.get("effectiveLevel").asText()).isEqualTo("INFO");
        assertThat(JSON.readTree(send(get("/root")).body()).get("name").asText()).isEqualTo("ROOT");
    }

    @Test
    void putChangesALevelAndNullResetsIt() throws Exception {
        var r = send(put("/dev.parley.core", "{\"level\":\"debug\"}"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(JSON.readTree(r.body()).get("level").asText()).isEqualTo("DEBUG");
        assertThat(context.getLogger("dev.parley.core.internal.Turn").isDebugEnabled()).isTrue();
        assertThat(JSON.readTree(send(get("/dev.parley.core.internal.Turn")).body()).get("effectiveLevel").asText())
                .isEqualTo("DEBUG");

        r = send(put("/dev.parley.core", "{\"level\":null}"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(JSON.readTree(r.body()).get("level").isNull()).isTrue();
        assertThat(JSON.readTree(r.body()).get("effectiveLevel").asText()).isEqualTo("INFO");
        assertThat(context.getLogger("dev.parley.core.internal.Turn").isDebugEnabled()).isFalse();

        assertThat(send(put("/ROOT", "{\"level\":\"WARN\"}")).statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(send(get("")).body()).get("rootLevel").asText()).isEqualTo("WARN");
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"level\":\"LOUD\"}", "{\"level\":\"ALL\"}", "{\"level\":5}", "{\"level\":[\"DEBUG\"]}",
            "{}", "{\"level\":\"DEBUG\",\"other\":1}", "{\"level\": \"DEBUG\"", "not json", "[\"DEBUG\"]", "\"DEBUG\"",
            "{\"level\":\"DEBUG\"} trailing"})
    void badBodiesAreRefusedAndChangeNothing(String body) throws Exception {
        var r = send(put("/dev.parley.core", body));
        assertProblem(r, 400);
        assertThat(context.exists("dev.parley.core")).isNull();
        assertThat(context.getLogger("ROOT").getLevel()).isEqualTo(Level.INFO);
    }

    @Test
    void anEmptyBodyIsRefused() throws Exception {
        assertProblem(send(put("/dev.parley.core", "")), 400);
        assertThat(context.exists("dev.parley.core")).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"/dev..parley", "/bad%20name", "/.dev", "/dev.parley.", "/%C3%BCber", "/dev.*"})
    void namesThatAreNotLoggerNamesAreRefused(String path) throws Exception {
        int loggers = context.getLoggerList().size();
        assertProblem(send(put(path, "{\"level\":\"DEBUG\"}")), 400);
        assertProblem(send(get(path)), 400);
        assertThat(context.getLoggerList()).hasSize(loggers);
    }

    @Test
    void withoutTheAdminTokenNothingIsShownOrChanged() throws Exception {
        var anonymous = HttpRequest.newBuilder(base).GET().build();
        assertProblem(send(anonymous), 401);
        var wrong = HttpRequest.newBuilder(URI.create(base + "/dev.parley.core")).header("Authorization", "Bearer nope")
                .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString("{\"level\":\"TRACE\"}"))
                .build();
        assertProblem(send(wrong), 401);
        assertThat(context.exists("dev.parley.core")).isNull();
    }

    private void assertProblem(HttpResponse<String> r, int status) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/problem+json");
        JsonNode problem = JSON.readTree(r.body());
        assertThat(problem.get("status").asInt()).isEqualTo(status);
        assertThat(problem.get("type").asText()).startsWith("https://parley.dev/problems/");
        assertThat(problem.get("detail").asText()).isNotBlank();
        assertThat(r.body()).doesNotContain("Exception").doesNotContain("\tat ");
    }

    private HttpRequest get(String path) {
        return HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", "Bearer " + ADMIN_TOKEN).GET().build();
    }

    private HttpRequest put(String path, String body) {
        return HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", "Bearer " + ADMIN_TOKEN)
                .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private HttpResponse<String> send(HttpRequest request) throws Exception {
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private static RestConfig restConfig() {
        return (RestConfig) Proxy.newProxyInstance(RestConfig.class.getClassLoader(), new Class<?>[] {RestConfig.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "_adminToken" -> ADMIN_TOKEN;
                    case "annotationType" -> RestConfig.class;
                    case "hashCode" -> 0;
                    case "equals" -> proxy == args[0];
                    case "toString" -> "RestConfig(test)";
                    default -> method.getDefaultValue();
                });
    }
}
