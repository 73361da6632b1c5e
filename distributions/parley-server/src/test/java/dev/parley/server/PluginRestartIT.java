package dev.parley.server;

import static dev.parley.server.PluginAdmin.ECHO_ID;
import static dev.parley.server.PluginAdmin.ECHO_MODEL;
import static dev.parley.server.PluginAdmin.ECHO_PUBLISHER;
import static dev.parley.server.PluginAdmin.nodeStatus;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.registry.Signatures;
import dev.parley.testsupport.FakeOpenAiServer;
import dev.parley.testsupport.plugins.TestPluginJars;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One node on the laptop defaults (embedded H2, the registry in a local directory): installed plugins, their
 * versions and settings survive a restart of the process; a plugin whose artifact is gone comes back failed, with
 * the reason, while the node serves chats, and comes back by itself once the artifact is back.
 */
class PluginRestartIT {
    static final String TOKEN = "restart-admin-" + UUID.randomUUID();
    static final String SETTINGS_PID = "dev.parley.example.echo";
    static final Duration CONVERGE = Duration.ofSeconds(30);

    @Test
    void anInstalledAndConfiguredPluginComesBackAtTheSameVersionWithTheSameSettings(@TempDir Path temp) throws Exception {
        Path data = temp.resolve("data");
        try (var parley = start(data, Map.of())) {
            var admin = new PluginAdmin(parley, TOKEN);
            publishEcho(admin, "1.0.0", "1.1.0");
            // Not the newest version: a restart must not drift to 1.1.0.
            var installed = admin.install(ECHO_ID, "1.0.0");
            assertThat(installed.status()).as(installed.body()).isEqualTo(201);
            var configured = admin.configure(ECHO_ID, SETTINGS_PID, Map.of("prefix", "[tuned {version}]", "tokenDelayMs", 1));
            assertThat(configured.status()).as(configured.body()).isEqualTo(200);
            assertThat(admin.answer(ECHO_MODEL, "before")).isEqualTo("[tuned 1.0.0] before");
            String node = admin.list().json().path("node").asText();

            assertThat(parley.stop()).isEqualTo(143);
            parley.start();

            await().atMost(CONVERGE).until(() -> admin.answer(ECHO_MODEL, "after"), "[tuned 1.0.0] after"::equals);
            assertThat(admin.list().json().path("node").asText()).as("node id kept in the data directory").isEqualTo(node);
            var state = admin.state(ECHO_ID).json();
            assertThat(state.at("/desired/version").asText()).isEqualTo("1.0.0");
            assertThat(state.at("/thisNode/version").asText()).isEqualTo("1.0.0");
            assertThat(state.at("/thisNode/bundleState").asText()).isEqualTo("active");
            assertThat(state.path("latestStable").asText()).isEqualTo("1.1.0");
            assertThat(nodeStatus(state, node)).get().satisfies(s -> {
                assertThat(s.path("state").asText()).isEqualTo("active");
                assertThat(s.path("version").asText()).isEqualTo("1.0.0");
            });
            var values = admin.settings(ECHO_ID).json().at("/values/" + SETTINGS_PID);
            assertThat(values.path("prefix").asText()).isEqualTo("[tuned {version}]");
            assertThat(values.path("tokenDelayMs").asLong()).isEqualTo(1);
            // The framework started with an empty bundle cache: the reconciler installed the plugin again.
            assertThat(admin.events(ECHO_ID).json().path("events")).anySatisfy(e -> {
                assertThat(e.path("action").asText()).isEqualTo("reconcile");
                assertThat(e.path("fromVersion").isNull()).isTrue();
                assertThat(e.path("toVersion").asText()).isEqualTo("1.0.0");
                assertThat(e.path("outcome").asText()).isEqualTo("ok");
            });
        }
    }

    @Test
    void aPluginWhoseArtifactIsGoneComesBackFailedWhileTheNodeServesChatsAndRecoversWhenItReturns(@TempDir Path temp) throws Exception {
        Path data = temp.resolve("data");
        try (var upstream = FakeOpenAiServer.start();
                var parley = start(data, Map.of("OPENAI_BASE_URL", upstream.baseUrl(), "OPENAI_MODELS", "fake-model"))) {
            var admin = new PluginAdmin(parley, TOKEN);
            publishEcho(admin, "1.0.0");
            assertThat(admin.install(ECHO_ID, "1.0.0").status()).isEqualTo(201);
            assertThat(admin.answer(ECHO_MODEL, "hi")).isEqualTo("[echo 1.0.0] hi");
            String node = admin.list().json().path("node").asText();
            assertThat(parley.stop()).isEqualTo(143);

            // The registry lost the jar while the node was down. The node installed it before and kept the
            // verified bytes in its own artifact cache, which is verified again against digest and signature.
            Path registryJar = onlyJar(data.resolve("registry/plugins").resolve(ECHO_ID));
            byte[] removed = Files.readAllBytes(registryJar);
            Files.delete(registryJar);
            parley.start();
            await().atMost(CONVERGE).until(() -> admin.answer(ECHO_MODEL, "from the cache"), "[echo 1.0.0] from the cache"::equals);
            assertThat(parley.stop()).isEqualTo(143);

            // Now the node's copy is gone too: nothing to install from.
            Path cachedJar = onlyJar(data.resolve("plugins").resolve(ECHO_ID));
            Files.delete(cachedJar);
            parley.start();

            await().atMost(CONVERGE).untilAsserted(() -> assertThat(nodeStatus(admin.state(ECHO_ID).json(), node))
                    .get().satisfies(s -> assertThat(s.path("state").asText()).isEqualTo("failed")));
            var state = admin.state(ECHO_ID);
            assertThat(state.status()).isEqualTo(200);
            var status = nodeStatus(state.json(), node).orElseThrow();
            assertThat(status.path("error").asText()).as(state.body())
                    .contains(ECHO_ID + " 1.0.0").contains("missing from storage");
            assertThat(state.json().at("/desired/version").asText()).as("the desired state is kept").isEqualTo("1.0.0");
            assertThat(state.json().path("thisNode").isNull()).as("nothing half-installed").isTrue();
            assertThat(admin.events(ECHO_ID).json().path("events")).anySatisfy(e -> {
                assertThat(e.path("action").asText()).isEqualTo("reconcile");
                assertThat(e.path("outcome").asText()).isEqualTo("failed");
                assertThat(e.path("detail").asText()).contains("missing from storage");
            });

            // The node serves chats with what it has.
            assertThat(admin.modelIds()).contains("fake-model").doesNotContain(ECHO_MODEL);
            assertThat(admin.answer("fake-model", "still there?")).isEqualTo("echo: still there?");
            var echo = admin.chat(ECHO_MODEL, "echo?");
            assertThat(echo.status()).as(echo.body()).isEqualTo(404);
            assertThat(echo.json().path("code").asText()).isEqualTo("model-not-found");
            assertThat(Files.readString(parley.log)).contains("event=plugin_reconcile_step_failed");

            // The registry gets its bytes back (restored, as from a backup: whole, in one move). Nobody tells the
            // node: its reconciler tries the failed step again after retryFailedSeconds and installs the plugin.
            long reconciledBefore = count(admin, "reconcile", "ok");
            long installsBefore = count(admin, "install", null);
            Path restored = registryJar.resolveSibling(registryJar.getFileName() + ".restoring");
            Files.write(restored, removed);
            Files.move(restored, registryJar, StandardCopyOption.ATOMIC_MOVE);
            await().atMost(CONVERGE).untilAsserted(() -> assertThat(nodeStatus(admin.state(ECHO_ID).json(), node))
                    .get().satisfies(s -> {
                        assertThat(s.path("state").asText()).isEqualTo("active");
                        assertThat(s.path("version").asText()).isEqualTo("1.0.0");
                    }));
            await().atMost(CONVERGE).until(() -> admin.answer(ECHO_MODEL, "back?"), "[echo 1.0.0] back?"::equals);
            var recovered = admin.state(ECHO_ID).json();
            assertThat(recovered.at("/thisNode/version").asText()).isEqualTo("1.0.0");
            assertThat(recovered.at("/thisNode/bundleState").asText()).isEqualTo("active");
            assertThat(nodeStatus(recovered, node).orElseThrow().path("error").asText("")).as("error cleared").isEmpty();
            assertThat(count(admin, "reconcile", "ok")).as("the retry installed it").isEqualTo(reconciledBefore + 1);
            assertThat(count(admin, "install", null)).as("no admin action").isEqualTo(installsBefore);
            assertThat(onlyJar(data.resolve("plugins").resolve(ECHO_ID))).as("the node's cache holds it again").exists();
        }
    }

    static ParleyProcess start(Path dataDir, Map<String, String> extra) throws Exception {
        Files.createDirectories(dataDir.resolve("config"));
        Files.writeString(dataDir.resolve("config").resolve("plugins.json"),
                "{\"dev.parley.plugins\": {\"reconcileIntervalSeconds\": 1, \"retryFailedSeconds\": 1}}");
        var env = new HashMap<>(extra);
        env.put("PARLEY_ADMIN_TOKEN", TOKEN);
        return ParleyProcess.start(dataDir, env);
    }

    /** Registers a fresh key for the example's publisher and publishes the example at each version. */
    static String[] publishEcho(PluginAdmin admin, String... versions) {
        String[] keys = Signatures.generateKeyPair();
        assertThat(admin.addPublisher(ECHO_PUBLISHER, keys[0]).status()).isEqualTo(201);
        byte[] example = PluginAdmin.exampleJar();
        for (String v : versions) {
            var published = admin.publish(TestPluginJars.withVersion(example, v), keys[1]);
            assertThat(published.status()).as(published.body()).isEqualTo(201);
        }
        return keys;
    }

    /** Events of the example plugin with {@code action} (and {@code outcome}, unless null). */
    static long count(PluginAdmin admin, String action, String outcome) {
        long n = 0;
        for (var e : admin.events(ECHO_ID).json().path("events")) {
            if (e.path("action").asText().equals(action) && (outcome == null || e.path("outcome").asText().equals(outcome))) {
                n++;
            }
        }
        return n;
    }

    static Path onlyJar(Path dir) throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            List<Path> jars = files.filter(f -> f.toString().endsWith(".jar")).toList();
            assertThat(jars).as("jars under %s", dir).hasSize(1);
            return jars.get(0);
        }
    }
}
