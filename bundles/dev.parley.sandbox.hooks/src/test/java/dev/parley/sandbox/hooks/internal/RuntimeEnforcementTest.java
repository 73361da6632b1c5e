package dev.parley.sandbox.hooks.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.sandbox.hooks.runtime.CheckKind;
import dev.parley.sandbox.hooks.runtime.PluginChecks;
import dev.parley.sandbox.hooks.runtime.PluginStopped;
import java.io.File;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;

/**
 * The decisions behind the woven checks, in a real framework: a plugin bundle's {@code Parley-Permissions}, its data
 * area, Parley's own port and directories, its threads, and a tier that only reports.
 */
class RuntimeEnforcementTest {
    static final int OWN_PORT = 18_080;

    @TempDir
    Path dir;
    TestFramework osgi;
    RuntimeEnforcement checks;
    Path config;
    Path data;

    @BeforeEach
    void setUp() throws Exception {
        config = Files.createDirectories(dir.resolve("config"));
        data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve("admin-token"), "secret");
        osgi = new TestFramework(data.resolve("felix-cache"), () -> false, Map.of("parley.config.dir",
                config.toString(), "parley.data.dir", data.toString(), "org.osgi.service.http.port",
                Integer.toString(OWN_PORT)));
        checks = osgi.activator.enforcement();
    }

    @AfterEach
    void tearDown() throws Exception {
        osgi.close();
    }

    Bundle plugin(String id, String permissions) throws Exception {
        return permissions == null ? osgi.plugin(id) : osgi.plugin(id, "Parley-Permissions", permissions);
    }

    void allowed(Bundle b, CheckKind kind, Object target, Object detail) {
        assertThatCode(() -> checks.check(kind, target, detail, "test.call", checks.token(b)))
                .as(kind + " " + target).doesNotThrowAnyException();
    }

    void refused(Bundle b, CheckKind kind, Object target, Object detail, String why) {
        assertThatThrownBy(() -> checks.check(kind, target, detail, "test.call", checks.token(b)))
                .as(kind + " " + target).isInstanceOf(SecurityException.class).hasMessageContaining(why);
    }

    @Test
    void networkTargetsAreTheDeclaredHostsAndPortsWithWildcards() throws Exception {
        Bundle b = plugin("net", "network;target=\"api.example.com:443\", network;target=\"bedrock.*.aws.com:443\", "
                + "secret;target=apiKey");
        allowed(b, CheckKind.NETWORK, InetSocketAddress.createUnresolved("api.example.com", 443), null);
        allowed(b, CheckKind.NETWORK, "bedrock.eu-west-1.aws.com", 443);
        allowed(b, CheckKind.NETWORK, HttpRequest.newBuilder(URI.create("https://API.example.com/v1")).build(), null);
        allowed(b, CheckKind.NETWORK, new URL("https://api.example.com/x"), null);
        refused(b, CheckKind.NETWORK, "api.example.com", 80, "api.example.com:80 is not among its declared");
        refused(b, CheckKind.NETWORK, new URL("http://evil.example.org/"), null, "evil.example.org:80");
        refused(b, CheckKind.NETWORK, HttpRequest.newBuilder(URI.create("http://127.0.0.1:5432/")).build(), null,
                "127.0.0.1:5432");
        refused(b, CheckKind.NETWORK, new URL("file:/etc/passwd"), null, "not under its data area");
        // Counted by the rule of the call made (a file: URL opened is a URL's, "network").
        assertThat(osgi.activator.plugins().refusedCalls(b)).containsExactly(Map.entry("network", 4L));
        // Logged and kept once per plugin and rule.
        assertThat(osgi.activator.plugins().refusals(b)).singleElement().asString()
                .contains("plugin net (rule network)").contains("api.example.com:80");
    }

    @Test
    void aPluginOpensItsOwnBundleResourcesNotAnotherBundles() throws Exception {
        Bundle b = plugin("resources", null);
        Bundle other = osgi.platform("test.platform.other");
        URL own = b.getEntry("META-INF/MANIFEST.MF");
        assertThat(own.getProtocol()).isEqualTo("bundle");
        allowed(b, CheckKind.NETWORK, own, null);
        refused(b, CheckKind.NETWORK, other.getEntry("META-INF/MANIFEST.MF"), null, "another bundle's resources");
    }

    @Test
    void parleysOwnPortOnThisMachineNeedsATargetNamingItExactly() throws Exception {
        Bundle any = plugin("any", "network;target=\"*:*\"");
        allowed(any, CheckKind.NETWORK, new InetSocketAddress(InetAddress.getLoopbackAddress(), 9999), null);
        refused(any, CheckKind.NETWORK, new InetSocketAddress(InetAddress.getLoopbackAddress(), OWN_PORT), null,
                "Parley's own HTTP port");
        refused(any, CheckKind.NETWORK, "localhost", OWN_PORT, "Parley's own HTTP port");
        Bundle exact = plugin("exact", "network;target=\"localhost:" + OWN_PORT + "\"");
        allowed(exact, CheckKind.NETWORK, "localhost", OWN_PORT);
        assertThat(checks.ownPorts()).contains(OWN_PORT);
    }

    @Test
    void filesAreTheDataAreaAndDeclaredTargetsNeverTheServersDirectories() throws Exception {
        Path shared = Files.createDirectories(dir.resolve("shared"));
        Files.writeString(shared.resolve("model.bin"), "x");
        Bundle b = plugin("files", "file;target=\"" + shared + "\";actions=read, file;target=\"" + data + "\"");
        File own = b.getDataFile("cache/x");
        allowed(b, CheckKind.FILE_WRITE, own, null);
        allowed(b, CheckKind.FILE_READ, shared.resolve("model.bin").toString(), null);
        refused(b, CheckKind.FILE_WRITE, shared.resolve("model.bin"), null, "it may write");
        allowed(b, CheckKind.FILE_OPEN, shared.resolve("model.bin"), new StandardOpenOption[] {StandardOpenOption.READ});
        refused(b, CheckKind.FILE_OPEN, shared.resolve("model.bin"), Set.of(StandardOpenOption.WRITE), "writing");
        refused(b, CheckKind.FILE_OPEN, shared.resolve("model.bin").toString(), "rw", "writing");
        // Declared, but the server's: the admin token, the configuration, the process's environment.
        refused(b, CheckKind.FILE_READ, data.resolve("admin-token"), null, "never a plugin's");
        refused(b, CheckKind.FILE_READ, config.resolve("parley.json").toString(), null, "never a plugin's");
        refused(b, CheckKind.FILE_READ, "/proc/self/environ", null, "never a plugin's");
        // A link in its own data area does not lead out of it.
        Path link = own.toPath().getParent().resolve("token-link");
        Files.createDirectories(link.getParent());
        Files.createSymbolicLink(link, data.resolve("admin-token"));
        refused(b, CheckKind.FILE_READ, link, null, "admin-token");
        refused(b, CheckKind.FILE_READ, own.getParentFile().getPath() + "/../../../../admin-token", null,
                "never a plugin's");
    }

    @Test
    void threadsNeedAGrantAndAreCountedWhileTheyLive() throws Exception {
        Bundle none = plugin("nothreads", null);
        refused(none, CheckKind.THREAD_START, new Thread(() -> { }), null, "needs a thread permission");
        refused(none, CheckKind.THREADS, null, null, "needs a thread permission");
        allowed(none, CheckKind.THREAD_START, new Object(), null); // a start() that is not a thread's

        Bundle two = plugin("twothreads", "thread;target=2");
        CountDownLatch release = new CountDownLatch(1);
        List<Thread> started = List.of(parked(release), parked(release), parked(release));
        allowed(two, CheckKind.THREAD_START, started.get(0), null);
        started.get(0).start();
        allowed(two, CheckKind.THREAD_START, started.get(1), null);
        started.get(1).start();
        refused(two, CheckKind.THREAD_START, started.get(2), null, "may start at most 2");
        release.countDown();
        started.get(0).join(TimeUnit.SECONDS.toMillis(10));
        allowed(two, CheckKind.THREAD_START, started.get(2), null);
    }

    private static Thread parked(CountDownLatch release) {
        return new Thread(() -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    @Test
    void reflectionMayNotOpenOthersNorReachCheckedMethods() throws Exception {
        Bundle b = plugin("reflect", null);
        String access = "java.lang.reflect.AccessibleObject.setAccessible";
        assertThatThrownBy(() -> checks.check(CheckKind.REFLECT, String.class.getDeclaredField("value"), null, access,
                checks.token(b))).isInstanceOf(SecurityException.class).hasMessageContaining("not the plugin's own");
        assertThatCode(() -> checks.check(CheckKind.REFLECT, String.class.getMethod("strip"), null, access,
                checks.token(b))).doesNotThrowAnyException();
        assertThatThrownBy(() -> checks.check(CheckKind.REFLECT, System.class.getMethod("exit", int.class), null,
                "java.lang.reflect.Method.invoke", checks.token(b))).isInstanceOf(SecurityException.class)
                .hasMessageContaining("java.lang.System.exit");
        assertThatThrownBy(() -> checks.check(CheckKind.LOOKUP, Thread.class, "start", "findVirtual",
                checks.token(b))).isInstanceOf(SecurityException.class);
        refused(b, CheckKind.PRIVATE_LOOKUP, String.class, null, "not the plugin's own class");
    }

    @Test
    void exitProcessAndEnvironmentAreRefusedUnlessTheTierOnlyReports() throws Exception {
        Bundle b = plugin("loud", "network;target=\"*:*\"");
        refused(b, CheckKind.EXIT, null, null, "may not stop the server");
        refused(b, CheckKind.PROCESS, null, null, "may not start or stop processes");
        refused(b, CheckKind.ENVIRONMENT, "OPENAI_API_KEY", null, "does not see the server's environment");

        osgi.activator.policy().tier("dev.parley.sandbox.hooks.tier~trusted", new Policy.Tier(new Rules("trusted",
                Patterns.of(new String[] {"java.*"}), Patterns.NONE, Patterns.NONE, Patterns.NONE, Rules.REPORT),
                Set.of("loud")));
        allowed(b, CheckKind.PROCESS, null, null);
        assertThat(osgi.activator.plugins().refusedCalls(b)).containsEntry("process", 2L).containsEntry("exit", 1L);
    }

    @Test
    void anEndpointAnAdminConfiguredForThePluginIsGrantedButNotParleysOwnPort() throws Exception {
        Bundle b = plugin("configured", "network;target=\"api.example.com:443\"");
        refused(b, CheckKind.NETWORK, "127.0.0.1", 9, "nor an endpoint configured for it");
        osgi.activator.policy().endpoints(p -> p.getBundleId() == b.getBundleId()
                ? List.of(ConfiguredEndpoints.endpoint("http://127.0.0.1:9/v1"),
                        ConfiguredEndpoints.endpoint("localhost:" + OWN_PORT))
                : List.of());
        allowed(b, CheckKind.NETWORK, "127.0.0.1", 9);
        refused(b, CheckKind.NETWORK, "localhost", OWN_PORT, "Parley's own HTTP port");
        assertThat(ConfiguredEndpoints.endpoint("https://gw.example.com/anthropic")).hasToString("gw.example.com:443");
        assertThat(ConfiguredEndpoints.endpoint("")).isNull();
    }

    @Test
    void followingRedirectsIsRefusedAsNetworkUseWhateverTheTargets() throws Exception {
        Bundle any = plugin("redirects", "network;target=\"*:*\"");
        refused(any, CheckKind.REDIRECT, java.net.http.HttpClient.Redirect.NORMAL, null,
                "would follow redirects (NORMAL)");
        assertThat(osgi.activator.plugins().refusedCalls(any)).containsEntry("network", 1L);
    }

    @Test
    void aTokenTheSandboxDidNotWeaveIsRefused() {
        assertThatThrownBy(() -> checks.check(CheckKind.NETWORK, "localhost", 1, "java.net.Socket.<init>",
                "parley-sandbox:forged")).isInstanceOf(SecurityException.class).hasMessageContaining("no plugin");
    }

    @Test
    void aThreadSpinningInAStoppedPluginsLoopsIsStoppedOneTurningNowAndThenIsNot() throws Exception {
        checks.stopWindow(java.time.Duration.ofMinutes(5)); // the turns below count however slow this machine is
        Bundle b = plugin("stopping", "thread");
        b.start();
        Bundle other = plugin("running", null);
        other.start();
        CountDownLatch interrupted = new CountDownLatch(1);
        Thread waiting = new Thread(() -> {
            try {
                new CountDownLatch(1).await();
            } catch (InterruptedException e) {
                interrupted.countDown();
            }
        });
        allowed(b, CheckKind.THREAD_START, waiting, null);
        waiting.start();
        String token = checks.token(b);
        for (int i = 0; i < 2 * RuntimeEnforcement.SPIN_TURNS; i++) {
            checks.loop(token); // running: turns freely
        }

        b.stop();
        assertThat(interrupted.await(10, TimeUnit.SECONDS)).as("the plugin's own thread is interrupted").isTrue();
        for (int i = 1; i < RuntimeEnforcement.SPIN_TURNS; i++) {
            checks.loop(token); // a lingering library thread turning now and then is left alone
        }
        for (int i = 0; i < 2 * RuntimeEnforcement.SPIN_TURNS; i++) {
            checks.loop(checks.token(other)); // another plugin runs on
        }
        assertThat(osgi.activator.plugins().refusedCalls(b)).doesNotContainKey("stopped");
        // The turn that makes this thread a spinning one, and every later one, throws.
        assertThatThrownBy(() -> checks.loop(token)).isInstanceOf(PluginStopped.class)
                .hasMessageContaining("plugin stopping (rule stopped)");
        assertThatThrownBy(() -> checks.loop(token)).isInstanceOf(PluginStopped.class);
        assertThat(osgi.activator.plugins().refusedCalls(b)).containsEntry("stopped", 2L);
        assertThat(osgi.activator.plugins().refusals(b)).anySatisfy(r -> assertThat(r).contains("(rule stopped)"));

        // Started again, and stopped again: the count starts over.
        b.start();
        for (int i = 0; i < 2 * RuntimeEnforcement.SPIN_TURNS; i++) {
            checks.loop(token);
        }
        b.stop();
        checks.loop(token);
        b.start();
        PluginChecks.stopping(false);
    }
}
