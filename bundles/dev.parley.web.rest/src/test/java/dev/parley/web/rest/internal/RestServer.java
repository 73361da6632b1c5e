package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.felix.hc.api.execution.HealthCheckExecutor;
import org.glassfish.jersey.jdkhttp.JdkHttpServerFactory;
import org.glassfish.jersey.server.ResourceConfig;

/** The REST bundle's resources and Feature on Jersey's JDK HTTP server, over real loopback HTTP. */
final class RestServer implements AutoCloseable {
    static final RestLimits LIMITS = new RestLimits(64 * 1024, 100, 20, Duration.ofSeconds(20), Duration.ofSeconds(15),
            List.of("Parley core", "Parley store"), Duration.ofSeconds(10));

    static final String ADMIN_TOKEN = "test-admin-token";
    static final long MAX_UPLOAD_BYTES = 96 * 1024;

    // Jersey warns that resource instances are "not providers"; they are registered as resources all the same.
    private static final java.util.logging.Logger QUIET = java.util.logging.Logger.getLogger(
            "org.glassfish.jersey.internal.inject.Providers");

    static {
        QUIET.setLevel(java.util.logging.Level.SEVERE);
    }

    final URI base;
    final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    final ObjectMapper json = new ObjectMapper();
    private final HttpServer server;
    private final ExecutorService requestThreads = Executors.newCachedThreadPool();

    final ConversationResource conversations;

    RestServer(ScriptedChatService chat, HealthCheckExecutor health) {
        conversations = new ConversationResource(chat, LIMITS);
        ResourceConfig config = new ResourceConfig()
                .property(org.glassfish.jersey.server.ServerProperties.WADL_FEATURE_DISABLE, true)
                .register(new ParleyRestFeature(LIMITS, MAX_UPLOAD_BYTES, ADMIN_TOKEN))
                .register(new AdminAuthTest.AdminPing())
                .register(new AdminAuthTest.UploadSink())
                .register(conversations)
                .register(new ModelResource(chat))
                .register(new OpenAiResource(chat, LIMITS))
                .register(new HealthResource(health, LIMITS.requiredReadyChecks()))
                .register(new LivenessResource());
        server = JdkHttpServerFactory.createHttpServer(URI.create("http://127.0.0.1:0/"), config, false);
        // The default executor is a single thread; streams must not block other requests.
        server.setExecutor(requestThreads);
        server.start();
        base = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
    }

    HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(20));
    }

    HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return send(request(path).GET().build());
    }

    HttpResponse<String> delete(String path) throws IOException, InterruptedException {
        return send(request(path).DELETE().build());
    }

    HttpResponse<String> postJson(String path, String body) throws IOException, InterruptedException {
        return send(request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    JsonNode parse(HttpResponse<String> response) throws IOException {
        return json.readTree(response.body());
    }

    @Override
    public void close() {
        server.stop(0);
        requestThreads.shutdownNow();
    }
}
