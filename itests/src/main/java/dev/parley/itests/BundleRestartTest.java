package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * Every Parley bundle can be stopped and started while the server runs: afterwards the server is ready again,
 * serves REST and the WebSocket, and the bundle left no threads behind.
 */
class BundleRestartTest {
    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    Server server;

    @BeforeEach
    void connect() {
        server = new Server(http.getServiceReference());
        await().atMost(Duration.ofSeconds(20)).until(() -> server.get("health/ready").status() == 200);
    }

    /**
     * @param threadPrefix names of the threads the bundle's own executors create ("-" when it has none); while the
     *                     bundle is stopped, no thread of that name and none running the bundle's code may be left
     */
    @ParameterizedTest
    @CsvSource({"dev.parley.web.ws, parley-ws-", "dev.parley.web.rest, parley-rest-", "dev.parley.core, parley-core-",
            "dev.parley.store.jdbc, -", "dev.parley.db, parley-db", "dev.parley.config, -",
            "dev.parley.plugins, parley-plugin-", "dev.parley.sandbox, -", "dev.parley.identity.apikeys, parley-apikeys-",
            "dev.parley.identity, parley-identity-"})
    void aRestartedBundleComesBackAndLeavesNoThreads(String bsn, String threadPrefix) throws Exception {
        Bundle bundle = Arrays.stream(context.getBundles()).filter(b -> bsn.equals(b.getSymbolicName())).findFirst()
                .orElseThrow();

        bundle.stop();
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
                assertThat(threadsOf(bsn, threadPrefix)).as("threads left running by the stopped " + bsn).isEmpty());
        bundle.start();

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(server.get("health/ready").status()).isEqualTo(200));
        // Ready means served: no waiting between the 200 and the first request.
        assertThat(server.post("api/v1/conversations", "{}").status()).isEqualTo(201);
        assertThat(webSocketAnswersPing()).isTrue();
    }

    /** Live threads named like the bundle's executors, or with a frame of the bundle's classes on their stack. */
    private static List<String> threadsOf(String bsn, String threadPrefix) {
        String packagePrefix = bsn + ".";
        return Thread.getAllStackTraces().entrySet().stream()
                .filter(e -> e.getKey().isAlive())
                .filter(e -> (!"-".equals(threadPrefix) && e.getKey().getName().startsWith(threadPrefix))
                        || Arrays.stream(e.getValue()).anyMatch(f -> f.getClassName().startsWith(packagePrefix)))
                .map(Map.Entry::getKey)
                .map(t -> t.getName() + " " + Arrays.toString(t.getStackTrace()))
                .toList();
    }

    private boolean webSocketAnswersPing() throws Exception {
        var pong = new CountDownLatch(1);
        var last = new AtomicReference<JsonNode>();
        var json = new ObjectMapper();
        URI uri = URI.create(server.base.toString().replaceFirst("^http", "ws") + "api/v1/chat/ws");
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
                .header("Authorization", "Bearer " + Server.adminToken(context)).buildAsync(uri, new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean lastPart) {
                try {
                    last.set(json.readTree(data.toString()));
                    if ("pong".equals(last.get().path("type").asText())) {
                        pong.countDown();
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                socket.request(1);
                return null;
            }
        }).get(10, TimeUnit.SECONDS);
        try {
            ws.sendText("{\"type\":\"ping\",\"id\":\"restart\"}", true).get(5, TimeUnit.SECONDS);
            return pong.await(10, TimeUnit.SECONDS);
        } finally {
            ws.abort();
        }
    }
}
