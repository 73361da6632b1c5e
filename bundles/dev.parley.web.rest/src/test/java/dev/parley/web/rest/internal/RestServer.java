package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.apache.felix.hc.api.execution.HealthCheckExecutor;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.glassfish.jersey.server.ResourceConfig;
import org.glassfish.jersey.servlet.ServletContainer;

/**
 * The REST bundle's resources and Feature on Jersey's servlet container, and its chat-completions servlet, in one
 * Jetty servlet context over real loopback HTTP (as the HTTP whiteboard serves them).
 */
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
    private final Server server = new Server();
    final ChatCompletionsServlet completions;
    final MessagesServlet messages;
    final ResponsesServlet responses;
    final TurnFilter turns;

    final ConversationResource conversations;
    final EdgeAuthFilter edge = new EdgeAuthFilter();
    /** Request rate limits behind the edge; none until a test sets some ({@link RateLimitFilter#limits}). */
    final CountingRateLimiter limiter = new CountingRateLimiter();
    final RateLimitFilter rateLimits = new RateLimitFilter(limiter, RequestLimits.NONE);
    /** Credentials {@code member-<roles>} for tests of who may do what; see {@link TestCredentials}. */
    final TestCredentials members = new TestCredentials();
    final RecordingUsageStore usage = new RecordingUsageStore();
    final ScriptedRoutingAdmin routing = new ScriptedRoutingAdmin();
    final ScriptedEmbeddingService embeddings = new ScriptedEmbeddingService();

    RestServer(ScriptedChatService chat, HealthCheckExecutor health) {
        conversations = new ConversationResource(chat, LIMITS);
        ResourceConfig config = new ResourceConfig()
                .property(org.glassfish.jersey.server.ServerProperties.WADL_FEATURE_DISABLE, true)
                .register(new ParleyRestFeature(LIMITS, MAX_UPLOAD_BYTES))
                .register(new EdgeAuthTest.AdminPing())
                .register(new EdgeAuthTest.UploadSink())
                .register(new RateLimitTest.SignInStub())
                .register(conversations)
                .register(new UsageResource(usage, LIMITS))
                .register(new ModelResource(chat))
                .register(new AdminModelResource(routing))
                .register(new OpenAiResource(chat, embeddings))
                .register(new HealthResource(health, LIMITS.requiredReadyChecks()))
                .register(new LivenessResource());
        completions = new ChatCompletionsServlet(chat, LIMITS);
        messages = new MessagesServlet(chat, LIMITS);
        responses = new ResponsesServlet(chat, LIMITS);
        turns = new TurnFilter(chat, LIMITS);
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler();
        // As the whiteboard registers it: ahead of every other filter, on every route.
        edge.addAuthenticator(new AdminTokenAuthenticator(ADMIN_TOKEN));
        edge.addAuthenticator(members);
        var edgeHolder = new FilterHolder(edge);
        edgeHolder.setAsyncSupported(true);
        context.addFilter(edgeHolder, "/*", java.util.EnumSet.of(jakarta.servlet.DispatcherType.REQUEST));
        // Ranked just below the edge, so it sees the principal.
        var limitsHolder = new FilterHolder(rateLimits);
        limitsHolder.setAsyncSupported(true);
        context.addFilter(limitsHolder, "/*", java.util.EnumSet.of(jakarta.servlet.DispatcherType.REQUEST));
        ServletHolder jersey = new ServletHolder(new ServletContainer(config));
        jersey.setAsyncSupported(true);
        context.addServlet(jersey, "/*");
        ServletHolder completionsHolder = new ServletHolder(completions);
        completionsHolder.setAsyncSupported(true);
        context.addServlet(completionsHolder, ChatCompletionsServlet.PATH);
        ServletHolder messagesHolder = new ServletHolder(messages);
        messagesHolder.setAsyncSupported(true);
        context.addServlet(messagesHolder, MessagesServlet.PATH);
        context.addServlet(messagesHolder, MessagesServlet.COUNT_PATH);
        ServletHolder responsesHolder = new ServletHolder(responses);
        responsesHolder.setAsyncSupported(true);
        context.addServlet(responsesHolder, ResponsesServlet.PATH);
        FilterHolder turnsHolder = new FilterHolder(turns);
        turnsHolder.setAsyncSupported(true);
        context.addFilter(turnsHolder, "/api/v1/conversations/*", java.util.EnumSet.of(jakarta.servlet.DispatcherType.REQUEST));
        // As the whiteboard registers it: ahead of the REST application, on its routes.
        var declaredLength = new FilterHolder(new DeclaredLengthFilter(LIMITS.maxBodyBytes(), MAX_UPLOAD_BYTES));
        declaredLength.setAsyncSupported(true);
        for (String pattern : List.of(DeclaredLengthFilter.REST_API, DeclaredLengthFilter.EMBEDDINGS)) {
            context.addFilter(declaredLength, pattern, java.util.EnumSet.of(jakarta.servlet.DispatcherType.REQUEST));
        }
        server.setHandler(context);
        try {
            server.start();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        base = URI.create("http://127.0.0.1:" + connector.getLocalPort() + "/");
    }

    /** A request with the admin token: an owner of the operator tenant, allowed everything. */
    HttpRequest.Builder request(String path) {
        return anonymous(path).header("Authorization", "Bearer " + ADMIN_TOKEN);
    }

    /** A request without any credential. */
    HttpRequest.Builder anonymous(String path) {
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
        try {
            completions.deactivate();
            messages.deactivate();
            responses.deactivate();
            turns.deactivate();
            server.stop();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
