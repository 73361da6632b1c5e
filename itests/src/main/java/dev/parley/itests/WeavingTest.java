package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.parley.itests.weaving.Probes;
import dev.parley.itests.weaving.WeavingProbe;
import dev.parley.sandbox.hooks.Confinement;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * The run-time checks woven into plugin classes (ADR 30), in the real framework with every shipped bundle. Probe
 * plugins ({@link WeavingProbe}, confined by their {@code Parley-Plugin} header) are installed directly, as code the
 * admission scan did not refuse would be (a trusted publisher's, whose scan only reports): each call a hostile plugin
 * would make is refused with a {@link SecurityException} naming the plugin and the rule, the sandbox counts it, and the
 * server keeps serving.
 */
class WeavingTest {
    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 20_000)
    Confinement confinement;

    Server server;
    Probes probes;

    @BeforeEach
    void setUp() {
        server = new Server(http.getServiceReference());
        probes = new Probes(context, confinement, UUID.randomUUID().toString().substring(0, 8));
    }

    @AfterEach
    void tearDown() throws BundleException {
        probes.close();
    }

    Bundle probe(String name, Map<String, String> headers) throws BundleException {
        return probes.probe(name, headers);
    }

    Bundle started(String name, String permissions) throws BundleException {
        return probes.started(name, permissions);
    }

    static String run(Bundle probe, String action, String arg) throws Throwable {
        return Probes.run(probe, action, arg);
    }

    void refused(Bundle probe, String action, String arg, String rule) {
        Probes.refused(probe, action, arg, rule);
        assertServing();
    }

    void assertServing() {
        assertThat(server.get("health/ready").status()).isEqualTo(200);
    }

    @Test
    void systemExitAtActivateFailsThePluginNotTheServer() throws Exception {
        Bundle b = probe("exitatstart", Map.of("Probe-At-Activate", "exit"));

        // Transient: a framework refresh (another test's plugin uninstall) does not start it again behind the test.
        assertThatThrownBy(() -> b.start(Bundle.START_TRANSIENT)).isInstanceOf(BundleException.class)
                .rootCause().isInstanceOf(SecurityException.class).hasMessageContaining("(rule exit)");
        assertThat(b.getState()).isNotEqualTo(Bundle.ACTIVE);
        assertThat(confinement.refusedCalls(b)).containsEntry("exit", 1L);
        assertThat(confinement.refusals(b)).anySatisfy(r -> assertThat(r).contains("rule exit"));
        assertServing();
    }

    @Test
    void exitHaltProcessesAndReflectiveWaysToThemAreRefusedLater() throws Exception {
        Bundle b = started("exits", null);
        refused(b, "exit", "", "exit");
        refused(b, "halt", "", "exit");
        refused(b, "exec", "", "process");
        refused(b, "process", "", "process");
        refused(b, "reflective-exit", "", "reflection");
        refused(b, "handle-exit", "", "reflection");
        assertThat(confinement.refusedCalls(b)).containsEntry("exit", 2L).containsEntry("process", 2L)
                .containsEntry("reflection", 2L);
        assertThat(b.getState()).isEqualTo(Bundle.ACTIVE);
    }

    @Test
    void thePluginSeesNoEnvironment() throws Throwable {
        Bundle b = started("env", "secret;target=apiKey");
        assertThat(System.getenv()).isNotEmpty();
        assertThat(run(b, "environment", "")).isEqualTo("0");
        assertThat(run(b, "variable", "PATH")).isEqualTo("null");
        assertThat(confinement.refusedCalls(b)).containsEntry("environment", 2L);
    }

    @Test
    void filesOutsideItsGrantsAndTheServersOwnAreRefusedItsDataAreaIsNot() throws Throwable {
        Path granted = Files.createTempDirectory("parley-weaving-");
        Files.writeString(granted.resolve("shared.txt"), "shared");
        Bundle b = started("files", "file;target=\"" + granted + "\";actions=read");
        Path dataDir = Path.of(context.getProperty("parley.data.dir"));

        assertThat(run(b, "own-file", "mine")).isEqualTo("mine");
        assertThat(run(b, "read", granted.resolve("shared.txt").toString())).isEqualTo("shared");
        refused(b, "read", dataDir.resolve("admin-token").toString(), "file");
        refused(b, "read-stream", dataDir.resolve("admin-token").toString(), "file");
        refused(b, "read", Path.of(context.getProperty("parley.config.dir")).resolve("x.json").toString(), "file");
        refused(b, "read", "/proc/self/environ", "file");
        refused(b, "read", "/etc/hostname", "file");
        assertThat(confinement.refusedCalls(b)).containsEntry("file", 5L);
    }

    @Test
    void connectionsGoOnlyToDeclaredTargetsAndNeverToParleysOwnPort() throws Throwable {
        int parley = server.base.getPort();
        try (ServerSocket declared = new ServerSocket(0); ServerSocket other = new ServerSocket(0)) {
            Bundle b = started("net", "network;target=\"127.0.0.1:" + declared.getLocalPort() + "\"");
            assertThat(run(b, "connect", "127.0.0.1:" + declared.getLocalPort())).isEqualTo("connected");
            try (Socket accepted = declared.accept()) {
                assertThat(accepted.isConnected()).isTrue();
            }
            refused(b, "connect", "127.0.0.1:" + other.getLocalPort(), "network");
            refused(b, "http", "http://localhost:" + other.getLocalPort() + "/", "network");

            // Any host and port, but not Parley's own HTTP port (the admin API) on this machine.
            Bundle any = started("anyhost", "network;target=\"*:*\"");
            assertThat(run(any, "connect", "127.0.0.1:" + other.getLocalPort())).isEqualTo("connected");
            refused(any, "connect", "127.0.0.1:" + parley, "network");
            refused(any, "http", server.base.resolve("api/v1/admin/plugins").toString(), "network");
            assertThat(confinement.refusedCalls(any)).containsEntry("network", 2L);
        }
    }

    @Test
    void aRedirectToParleysAdminApiIsNotFollowedByThePluginsHttpClient() throws Throwable {
        URI admin = server.base.resolve("api/v1/admin/plugins");
        try (ServerSocket redirector = new ServerSocket(0)) {
            // A declared host that answers every request with a redirect to Parley's own admin API.
            CompletableFuture<Void> answered = CompletableFuture.runAsync(() -> {
                try (Socket s = redirector.accept()) {
                    var in = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(),
                            StandardCharsets.US_ASCII));
                    while (!in.readLine().isEmpty()) {
                        // the request's head
                    }
                    s.getOutputStream().write(("HTTP/1.1 302 Found\r\nLocation: " + admin
                            + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            Bundle b = started("redirected", "network;target=\"127.0.0.1:" + redirector.getLocalPort() + "\"");
            // The plugin's client follows none: it gets the 302 itself (unwoven, the JDK would have followed it to the
            // admin API, unchecked, and answered 401).
            assertThat(run(b, "http-follow", "http://127.0.0.1:" + redirector.getLocalPort() + "/v1/models"))
                    .isEqualTo("302 NEVER");
            answered.get(10, TimeUnit.SECONDS);
            assertThat(confinement.refusedCalls(b)).containsEntry("network", 1L);
            assertThat(confinement.refusals(b)).anySatisfy(r -> assertThat(r).contains("would follow redirects"));
            assertServing();
        }
    }

    @Test
    void setAccessibleOnAnotherBundlesPrivateMemberIsRefusedOnItsOwnNot() throws Throwable {
        Bundle b = started("access", null);
        assertThat(run(b, "set-accessible", "own")).isEqualTo("accessible");
        refused(b, "set-accessible", "major", "reflection");
        assertThat(confinement.refusedCalls(b)).containsEntry("reflection", 1L);
    }

    @Test
    void threadsNeedAGrantAndStayWithinIt() throws Throwable {
        Bundle none = started("nothreads", null);
        refused(none, "thread", "", "thread");
        refused(none, "executor", "", "thread");

        Bundle two = started("twothreads", "thread;target=2");
        assertThat(run(two, "executor", "")).isEqualTo("ran");
        assertThat(run(two, "thread", "")).isEqualTo("started");
        assertThat(run(two, "thread", "")).isEqualTo("started");
        refused(two, "thread", "", "thread");
        run(two, "release", "");
        // Its threads have ended: it may start again.
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(run(two, "thread", "")).isEqualTo("started"));
        run(two, "release", "");
    }

    @Test
    void aLoopThatIgnoresInterruptsAndCatchesEverythingEndsWhenItsPluginStops() throws Throwable {
        Bundle b = started("spinner", "thread");
        assertThat(run(b, "spin", "")).isEqualTo("spinning");
        Class<?> woven = b.loadClass(WeavingProbe.class.getName());
        AtomicLong turns = (AtomicLong) woven.getField("TURNS").get(null);
        await().atMost(Duration.ofSeconds(10)).until(() -> turns.get() > 1_000);
        Thread spinner = (Thread) woven.getField("spinner").get(null);

        b.stop();
        // Stopped: the thread was interrupted (it ignores that), and its loop throws at its next turn; the inner loop's
        // catch takes the first throw, the outer loop's next turn throws again, out of the thread.
        await().atMost(Duration.ofSeconds(10)).until(() -> !spinner.isAlive());
        Throwable end = (Throwable) woven.getField("spinnerEnd").get(null);
        assertThat(end.getClass().getName()).isEqualTo("dev.parley.sandbox.hooks.runtime.PluginStopped");
        assertThat(end).hasMessageContaining("itest.weaving.spinner.").hasMessageContaining("(rule stopped)");
        assertThat(((AtomicLong) woven.getField("CAUGHT").get(null)).get()).isGreaterThanOrEqualTo(1);
        assertThat(confinement.refusedCalls(b)).containsKey("stopped");
        assertThat(confinement.refusals(b)).anySatisfy(r -> assertThat(r).contains("(rule stopped)"));
        assertServing();

        // Started again, its code runs as before.
        b.start();
        assertThat(run(b, "executor", "")).isEqualTo("ran");
    }
}
