package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * {@code /health/ready} says 200 only while every installed front end serves: a load balancer that believes it
 * never gets a 404 from a route Parley has.
 */
class ReadinessTest {
    /** Routes of each front end that must answer (anything but 404/503) whenever ready says 200. */
    private static final List<String> ROUTES = List.of("api/v1/models", "v1/models", "api/v1/conversations?limit=1",
            "api/v1/chat/ws");

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    Server server;

    @BeforeEach
    void connect() {
        server = new Server(http.getServiceReference());
        awaitReady();
    }

    @AfterEach
    void everythingBackUp() throws Exception {
        for (Bundle b : context.getBundles()) {
            if (b.getSymbolicName() != null && b.getSymbolicName().startsWith("dev.parley.")
                    && b.getState() == Bundle.RESOLVED && b.getHeaders().get(Constants.FRAGMENT_HOST) == null) {
                b.start();
            }
        }
        awaitReady();
    }

    @Test
    void aStoppedWebSocketFrontEndIsNotReady() throws Exception {
        Bundle ws = bundle("dev.parley.web.ws");

        ws.stop();

        Server.Reply ready = server.get("health/ready");
        assertThat(ready.status()).isEqualTo(503);
        assertThat(ready.body()).contains("dev.parley.web.ws");

        ws.start();
        awaitReady();
        assertThat(server.get("api/v1/chat/ws").status()).isEqualTo(426);
    }

    /** The log-level admin API is a front end too: stopped, ready says so; back, the route answers again. */
    @Test
    void aStoppedLoggingAdminIsNotReady() throws Exception {
        Bundle logging = bundle("dev.parley.logging");

        logging.stop();

        Server.Reply ready = server.get("health/ready");
        assertThat(ready.status()).isEqualTo(503);
        assertThat(ready.body()).contains("dev.parley.logging");

        logging.start();
        awaitReady();
    }

    /** The registry's REST resources leave with it, and the plugin admin API waits for the registry. */
    @Test
    void aFrontEndWhoseServiceIsGoneIsNotReady() throws Exception {
        Bundle registry = bundle("dev.parley.registry");

        registry.stop();

        Server.Reply ready = server.get("health/ready");
        assertThat(ready.status()).isEqualTo(503);
        assertThat(ready.body()).contains("dev.parley.registry").contains("dev.parley.plugins");
        // The route is gone once the REST whiteboard has rebuilt its application; until then a request for it can
        // reach the departed resource (Jersey answers 500) — while ready already says 503.
        await().atMost(Duration.ofSeconds(10)).until(() -> server.get("api/v1/registry/plugins").status() == 404);
        assertThat(server.get("health/ready").status()).isEqualTo(503);

        registry.start();
        awaitReady();
        assertThat(server.get("api/v1/registry/plugins").status()).isEqualTo(200);
    }

    /**
     * The race of a restarted core: its services come back at once, the REST resources that need them are
     * re-registered and served by the whiteboard a little later. Polled as fast as a client can, every 200 from
     * ready must be followed by routes that answer.
     */
    @Test
    void readyAfterACoreRestartMeansEveryRouteIsServed() throws Exception {
        Bundle core = bundle("dev.parley.core");
        List<String> lies = new ArrayList<>();
        for (int round = 0; round < 8; round++) {
            core.stop();
            // As when a real restart takes longer than the whiteboard's batching: the routes are gone first.
            await().atMost(Duration.ofSeconds(10)).until(() -> server.get("api/v1/models").status() == 404);
            core.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (System.nanoTime() < deadline) {
                if (server.get("health/ready").status() != 200) {
                    continue;
                }
                for (String route : ROUTES) {
                    int status = server.get(route).status();
                    if (status == 404 || status == 503) {
                        lies.add("round " + round + ": ready said 200, then GET /" + route + " answered " + status);
                    }
                }
                break;
            }
        }
        assertThat(lies).isEmpty();
        awaitReady();
    }

    private Bundle bundle(String bsn) {
        return Arrays.stream(context.getBundles()).filter(b -> bsn.equals(b.getSymbolicName())).findFirst()
                .orElseThrow();
    }

    private void awaitReady() {
        await().atMost(Duration.ofSeconds(20)).until(() -> server.get("health/ready").status() == 200);
    }
}
