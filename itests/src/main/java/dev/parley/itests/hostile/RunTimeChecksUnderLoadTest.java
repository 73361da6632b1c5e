package dev.parley.itests.hostile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.parley.itests.Server;
import dev.parley.itests.weaving.Probes;
import dev.parley.itests.weaving.WeavingProbe;
import dev.parley.sandbox.hooks.Confinement;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * The hostile-plugin suite's run-time rows (issue 11, ADR 30): what a plugin whose code the admission scan let through
 * (a trusted publisher's: there the scan only reports) tries at run time, each refused by the checks woven into its
 * classes, while the steady chat load of {@link HostileLoad} runs on another provider; every chat of the load must
 * succeed. The probes ({@link Probes}) are those of {@code WeavingTest}, which covers each check's details.
 */
class RunTimeChecksUnderLoadTest {
    static final String TIER = "trusted (run time)";

    @InjectBundleContext
    static BundleContext context;

    @InjectService(timeout = 20_000)
    static ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 20_000)
    static ConfigurationAdmin configAdmin;

    @InjectService(timeout = 20_000)
    static Confinement confinement;

    static Server server;
    static HostileLoad load;

    Probes probes;

    @BeforeAll
    static void startTheOtherProvider() throws Exception {
        server = new Server(http.getServiceReference());
        load = HostileLoad.start(context, configAdmin, server);
    }

    @AfterAll
    static void stopTheOtherProviderAndWriteTheResults() throws Exception {
        load.close();
    }

    @BeforeEach
    void setUp() {
        probes = new Probes(context, confinement, UUID.randomUUID().toString().substring(0, 8));
    }

    @AfterEach
    void tearDown() throws BundleException {
        probes.close();
    }

    @Test
    void systemExitAtActivate() throws Exception {
        Bundle[] b = new Bundle[1];
        var figures = load.underLoad(() -> {
            b[0] = probes.probe("exitatstart", Map.of("Probe-At-Activate", "exit"));
            assertThatThrownBy(() -> b[0].start(Bundle.START_TRANSIENT)).isInstanceOf(BundleException.class)
                    .rootCause().isInstanceOf(SecurityException.class).hasMessageContaining("(rule exit)");
        });
        assertThat(b[0].getState()).isNotEqualTo(Bundle.ACTIVE);
        assertThat(confinement.refusedCalls(b[0])).containsEntry("exit", 1L);
        load.results.record("System.exit at activate", TIER, "run-time checks: SecurityException in activate, the "
                + "plugin does not start", seen(b[0]), figures);
    }

    @Test
    void exitAndHaltInACall() throws Exception {
        Bundle[] b = new Bundle[1];
        var figures = load.underLoad(() -> {
            b[0] = probes.started("exits", null);
            Probes.refused(b[0], "exit", "", "exit");
            Probes.refused(b[0], "halt", "", "exit");
            Probes.refused(b[0], "reflective-exit", "", "reflection");
            Probes.refused(b[0], "handle-exit", "", "reflection");
        });
        assertThat(confinement.refusedCalls(b[0])).containsEntry("exit", 2L).containsEntry("reflection", 2L);
        assertThat(b[0].getState()).isEqualTo(Bundle.ACTIVE);
        load.results.record("System.exit and Runtime.halt in a call (directly, by reflection, by a method handle)",
                TIER, "run-time checks: SecurityException, the plugin lives on", seen(b[0]), figures);
    }

    @Test
    void processes() throws Exception {
        Bundle[] b = new Bundle[1];
        var figures = load.underLoad(() -> {
            b[0] = probes.started("processes", null);
            Probes.refused(b[0], "exec", "", "process");
            Probes.refused(b[0], "process", "", "process");
        });
        assertThat(confinement.refusedCalls(b[0])).containsEntry("process", 2L);
        load.results.record("process exec (Runtime.exec, ProcessBuilder.start)", TIER, "run-time checks: "
                + "SecurityException", seen(b[0]), figures);
    }

    @Test
    void environment() throws Exception {
        Bundle[] b = new Bundle[1];
        String[] seen = new String[2];
        var figures = load.underLoad(() -> {
            b[0] = probes.started("env", "secret;target=apiKey");
            seen[0] = Probes.result(b[0], "environment", "");
            seen[1] = Probes.result(b[0], "variable", "PATH");
        });
        assertThat(System.getenv()).isNotEmpty();
        assertThat(seen).containsExactly("0", "null");
        assertThat(confinement.refusedCalls(b[0])).containsEntry("environment", 2L);
        load.results.record("System.getenv", TIER, "run-time checks: the plugin sees an empty environment",
                seen(b[0]), figures);
    }

    @Test
    void filesOutsideTheGrant() throws Exception {
        Path granted = Files.createTempDirectory("parley-hostile-");
        Path shared = Files.writeString(granted.resolve("shared.txt"), "shared");
        Path dataDir = Path.of(context.getProperty("parley.data.dir"));
        Bundle[] b = new Bundle[1];
        try {
            var figures = load.underLoad(() -> {
                b[0] = probes.started("files", "file;target=\"" + granted + "\";actions=read");
                assertThat(Probes.result(b[0], "read", shared.toString())).isEqualTo("shared");
                Probes.refused(b[0], "read", dataDir.resolve("admin-token").toString(), "file");
                Probes.refused(b[0], "read-stream", dataDir.resolve("admin-token").toString(), "file");
                Probes.refused(b[0], "read", Path.of(context.getProperty("parley.config.dir")).resolve("x.json")
                        .toString(), "file");
                Probes.refused(b[0], "read", "/proc/self/environ", "file");
                Probes.refused(b[0], "read", "/etc/hostname", "file");
            });
            assertThat(confinement.refusedCalls(b[0])).containsEntry("file", 5L);
            load.results.record("files outside its grant (the admin token, the config directory, /proc/self/environ, "
                    + "/etc/hostname)", TIER, "run-time checks: SecurityException; the declared file is read",
                    seen(b[0]), figures);
        } finally {
            Files.deleteIfExists(shared);
            Files.deleteIfExists(granted);
        }
    }

    @Test
    void undeclaredConnections() throws Exception {
        int parley = server.base.getPort();
        Bundle[] b = new Bundle[2];
        try (ServerSocket declared = new ServerSocket(0); ServerSocket other = new ServerSocket(0)) {
            var figures = load.underLoad(() -> {
                b[0] = probes.started("net", "network;target=\"127.0.0.1:" + declared.getLocalPort() + "\"");
                assertThat(Probes.result(b[0], "connect", "127.0.0.1:" + declared.getLocalPort()))
                        .isEqualTo("connected");
                try (Socket accepted = declared.accept()) {
                    assertThat(accepted.isConnected()).isTrue();
                }
                Probes.refused(b[0], "connect", "127.0.0.1:" + other.getLocalPort(), "network");
                Probes.refused(b[0], "http", "http://localhost:" + other.getLocalPort() + "/", "network");
                b[1] = probes.started("anyhost", "network;target=\"*:*\"");
                Probes.refused(b[1], "connect", "127.0.0.1:" + parley, "network");
                Probes.refused(b[1], "http", server.base.resolve("api/v1/admin/plugins").toString(), "network");
            });
            assertThat(confinement.refusedCalls(b[0])).containsEntry("network", 2L);
            assertThat(confinement.refusedCalls(b[1])).containsEntry("network", 2L);
            load.results.record("connections to an undeclared host, and to Parley's own port under *:*", TIER,
                    "run-time checks: SecurityException; the declared target connects", seen(b[0]), figures);
        }
    }

    @Test
    void setAccessibleOnAnotherBundlesPrivateMember() throws Exception {
        Bundle[] b = new Bundle[1];
        var figures = load.underLoad(() -> {
            b[0] = probes.started("access", null);
            assertThat(Probes.result(b[0], "set-accessible", "own")).isEqualTo("accessible");
            Probes.refused(b[0], "set-accessible", "major", "reflection");
        });
        assertThat(confinement.refusedCalls(b[0])).containsEntry("reflection", 1L);
        load.results.record("setAccessible on another bundle's private member", TIER, "run-time checks: "
                + "SecurityException; its own members stay open to it", seen(b[0]), figures);
    }

    @Test
    void threadsBeyondTheGrant() throws Exception {
        Bundle[] b = new Bundle[2];
        var figures = load.underLoad(() -> {
            b[0] = probes.started("nothreads", null);
            Probes.refused(b[0], "thread", "", "thread");
            Probes.refused(b[0], "executor", "", "thread");
            b[1] = probes.started("twothreads", "thread;target=2");
            assertThat(Probes.result(b[1], "thread", "")).isEqualTo("started");
            assertThat(Probes.result(b[1], "thread", "")).isEqualTo("started");
            Probes.refused(b[1], "thread", "", "thread");
            Probes.result(b[1], "release", "");
            // Its threads have ended: it may start one again.
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(Probes.result(b[1], "thread", "")).isEqualTo("started"));
            Probes.result(b[1], "release", "");
        });
        assertThat(confinement.refusedCalls(b[0])).containsEntry("thread", 2L);
        load.results.record("threads without a grant, and beyond thread;target=2", TIER, "run-time checks: "
                + "SecurityException", seen(b[1]), figures);
    }

    @Test
    void aLoopThatIgnoresInterruptsAndCatchesEverythingAfterItsPluginStops() throws Exception {
        Bundle[] b = new Bundle[1];
        var figures = load.underLoad(() -> {
            b[0] = probes.started("spinner", "thread");
            assertThat(Probes.result(b[0], "spin", "")).isEqualTo("spinning");
            Class<?> woven = b[0].loadClass(WeavingProbe.class.getName());
            AtomicLong turns = (AtomicLong) woven.getField("TURNS").get(null);
            await().atMost(Duration.ofSeconds(10)).until(() -> turns.get() > 1_000);
            Thread spinner = (Thread) woven.getField("spinner").get(null);
            b[0].stop();
            await().atMost(Duration.ofSeconds(10)).until(() -> !spinner.isAlive());
        });
        assertThat(confinement.refusedCalls(b[0])).containsKey("stopped");
        load.results.record("a loop that ignores interrupts and catches everything, once its plugin is stopped", TIER,
                "run-time checks: PluginStopped at the loop's next turns; the thread ends", seen(b[0]), figures);
    }

    @Test
    void aRedirectFromADeclaredHostToTheAdminApi() throws Exception {
        URI admin = server.base.resolve("api/v1/admin/plugins");
        Bundle[] b = new Bundle[1];
        try (ServerSocket redirector = new ServerSocket(0)) {
            CompletableFuture<Void> answered = CompletableFuture.runAsync(() -> {
                try (Socket s = redirector.accept()) {
                    var in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
                    while (!in.readLine().isEmpty()) {
                        // the request's head
                    }
                    s.getOutputStream().write(("HTTP/1.1 302 Found\r\nLocation: " + admin + "\r\nContent-Length: 0"
                            + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            var figures = load.underLoad(() -> {
                b[0] = probes.started("redirected", "network;target=\"127.0.0.1:" + redirector.getLocalPort() + "\"");
                assertThat(Probes.result(b[0], "http-follow", "http://127.0.0.1:" + redirector.getLocalPort() + "/"))
                        .isEqualTo("302 NEVER");
                answered.get(10, TimeUnit.SECONDS);
            });
            assertThat(confinement.refusedCalls(b[0])).containsEntry("network", 1L);
            load.results.record("a redirect from a declared host to Parley's admin API", TIER, "run-time checks: the "
                    + "plugin's HttpClient follows no redirect; it gets the 302", seen(b[0]), figures);
        }
    }

    /** What the admin sees of the probe: its first refusal (the WARN's text) and its counts by rule. */
    static String seen(Bundle probe) {
        List<String> refusals = confinement.refusals(probe);
        return (refusals.isEmpty() ? "" : refusals.get(0) + "; ") + "thisNode.refusedCalls "
                + confinement.refusedCalls(probe);
    }
}
