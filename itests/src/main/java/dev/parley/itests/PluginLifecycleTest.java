package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.registry.Signatures;
import dev.parley.testsupport.plugins.TestPluginJars;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * The whole plugin path a third party's plugin takes, in the real framework with every shipped bundle: the example
 * provider is published to the registry over REST, installed, used, upgraded while streaming chats run, rolled back
 * and uninstalled through the admin API; broken artifacts are refused and the runtime keeps serving.
 */
class PluginLifecycleTest {
    static final String MODEL = "echo-1";
    static final String SETTINGS_PID = "dev.parley.example.echo";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    Server server;
    String adminToken;
    /** Unique per test: registry and database outlive a test method. */
    String pluginId;
    String publisher;
    String privateKey;
    byte[] echo;

    @BeforeEach
    void setUp() throws Exception {
        server = new Server(http.getServiceReference());
        adminToken = Server.adminToken(context);
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        pluginId = "example.echo." + suffix;
        publisher = "itest-" + suffix;
        String[] keys = Signatures.generateKeyPair();
        privateKey = keys[1];
        var added = admin(server.request("api/v1/admin/registry/publishers").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"id\":\"" + publisher + "\",\"publicKey\":\"" + keys[0] + "\"}")));
        assertThat(added.status()).as(added.body()).isIn(200, 201);
        byte[] example = Files.readAllBytes(Path.of(context.getProperty("parley.test.plugins"), "echo-provider.jar"));
        echo = TestPluginJars.withHeaders(example, Map.of("Parley-Plugin", pluginId
                + ";type=provider;name=\"Echo (example)\";publisher=" + publisher));
    }

    @AfterEach
    void tearDown() {
        admin(server.request("api/v1/admin/plugins/" + pluginId).DELETE());
        await().atMost(Duration.ofSeconds(20)).until(() -> !modelIds().contains(MODEL));
    }

    @Test
    void publishInstallChatUpgradeUnderLoadRollBackUninstall() throws Exception {
        assertPublished(publish(echo, "1.0.0"));
        var installed = admin(json("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"));
        assertThat(installed.status()).as(installed.body()).isEqualTo(201);
        assertThat(installed.json().at("/desired/version").asText()).isEqualTo("1.0.0");
        assertThat(chat("hello there").answer()).isEqualTo("[echo 1.0.0] hello there");

        // Slow the plugin down so chats are in flight while the upgrade runs.
        var configured = admin(server.request("api/v1/admin/plugins/" + pluginId + "/settings")
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"settings\":{\"" + SETTINGS_PID + "\":{\"tokenDelayMs\":15}}}")));
        assertThat(configured.status()).as(configured.body()).isEqualTo(200);
        assertPublished(publish(echo, "1.1.0"));

        var plan = admin(json("api/v1/admin/plugins/dry-run", "{\"id\":\"" + pluginId + "\",\"version\":\"1.1.0\"}"));
        assertThat(plan.status()).as(plan.body()).isEqualTo(200);
        assertThat(plan.json().get("action").asText()).isEqualTo("upgrade");
        assertThat(plan.json().get("compatible").asBoolean()).isTrue();

        try (var load = new ChatLoad(6)) {
            load.awaitCompleted("[echo 1.0.0]", 6);
            var upgraded = admin(json("api/v1/admin/plugins/" + pluginId + "/upgrade", "{\"version\":\"1.1.0\"}"));
            assertThat(upgraded.status()).as(upgraded.body()).isEqualTo(200);
            load.awaitCompleted("[echo 1.1.0]", 6);
            load.stop();
            System.out.printf("upgrade under load: %d chats completed (%d on 1.0.0, %d on 1.1.0), %d failed%n",
                    load.completed.size(), load.completed.stream().filter(c -> c.answer().startsWith("[echo 1.0.0]")).count(),
                    load.completed.stream().filter(c -> c.answer().startsWith("[echo 1.1.0]")).count(), load.failures.size());
            assertThat(load.failures).as("chats that failed or were cut during the upgrade").isEmpty();
            assertThat(load.completed).allSatisfy(c -> assertThat(c.answer()).isIn(
                    "[echo 1.0.0] " + c.question(), "[echo 1.1.0] " + c.question()));
            // Chats that started on 1.0.0 finished on it even while 1.1.0 was taking over.
            assertThat(load.completed.stream().filter(c -> c.startedBeforeUpgrade && c.answer().startsWith("[echo 1.0.0]")))
                    .isNotEmpty();
        }
        assertThat(chat("after the upgrade").answer()).isEqualTo("[echo 1.1.0] after the upgrade");
        // The replaced version is removed once its last turn is done.
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(pluginBundles()).containsExactly("1.1.0"));

        var rolledBack = admin(server.request("api/v1/admin/plugins/" + pluginId + "/rollback").POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(rolledBack.status()).as(rolledBack.body()).isEqualTo(200);
        assertThat(chat("after the rollback").answer()).isEqualTo("[echo 1.0.0] after the rollback");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(pluginBundles()).containsExactly("1.0.0"));

        var events = admin(server.request("api/v1/admin/plugins/" + pluginId + "/events").GET());
        var actions = new ArrayList<String>();
        events.json().get("events").forEach(e -> actions.add(e.get("action").asText() + ":" + e.get("outcome").asText()));
        assertThat(actions).contains("install:ok", "configure:ok", "upgrade:ok", "retire:ok", "rollback:ok");

        var removed = admin(server.request("api/v1/admin/plugins/" + pluginId).DELETE());
        assertThat(removed.status()).isEqualTo(204);
        await().atMost(Duration.ofSeconds(10)).until(() -> !modelIds().contains(MODEL));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(pluginBundles()).isEmpty());
        assertThat(admin(server.request("api/v1/admin/plugins/" + pluginId).GET()).status()).isEqualTo(404);
    }

    @Test
    void anUpgradeWhoseComponentThrowsIsRolledBackAndTheOldVersionKeepsServing() {
        assertPublished(publish(echo, "1.0.0"));
        assertThat(admin(json("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}")).status()).isEqualTo(201);
        assertPublished(publish(TestPluginJars.throwingOnActivate(pluginId, "2.0.0", publisher), null));

        var upgrade = admin(json("api/v1/admin/plugins/" + pluginId + "/upgrade", "{\"version\":\"2.0.0\"}"));

        assertThat(upgrade.status()).as(upgrade.body()).isEqualTo(422);
        assertThat(upgrade.json().get("detail").asText()).contains("rolled back").contains("boom in activate");
        assertThat(pluginBundles()).containsExactly("1.0.0");
        assertThat(chat("still here?").answer()).isEqualTo("[echo 1.0.0] still here?");
        var state = admin(server.request("api/v1/admin/plugins/" + pluginId).GET()).json();
        assertThat(state.at("/desired/version").asText()).isEqualTo("1.0.0");
    }

    @Test
    void anIncompatiblePluginIsRefusedBeforeInstallWithTheReason() {
        byte[] incompatible = TestPluginJars.withHeaders(echo, Map.of("Import-Package",
                "dev.parley.api.llm;version=\"[9.0,10)\",dev.parley.api.error;version=\"[1.0,2)\""));
        assertPublished(publish(incompatible, "1.0.0"));

        var plan = admin(json("api/v1/admin/plugins/dry-run", "{\"id\":\"" + pluginId + "\"}"));
        assertThat(plan.json().get("compatible").asBoolean()).isFalse();
        assertThat(plan.json().get("problems").toString()).contains("dev.parley.api.llm").contains("[9.0.0,10.0.0)");

        var install = admin(json("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"));
        assertThat(install.status()).as(install.body()).isEqualTo(422);
        assertThat(install.json().get("detail").asText()).contains("dev.parley.api.llm").contains("nothing was installed");
        assertThat(pluginBundles()).isEmpty();
        assertThat(admin(server.request("api/v1/admin/plugins/" + pluginId).GET()).status()).isEqualTo(404);
    }

    @Test
    void aDisabledPluginStaysInstalledButServesNothingUntilEnabled() {
        assertPublished(publish(echo, "1.0.0"));
        assertThat(admin(json("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}")).status()).isEqualTo(201);

        var disabled = admin(server.request("api/v1/admin/plugins/" + pluginId + "/disable").POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(disabled.status()).as(disabled.body()).isEqualTo(200);
        assertThat(disabled.json().at("/desired/enabled").asBoolean()).isFalse();
        assertThat(disabled.json().at("/thisNode/state").asText()).isEqualTo("disabled");
        await().atMost(Duration.ofSeconds(10)).until(() -> !modelIds().contains(MODEL));
        String conversation = server.post("api/v1/conversations", "{}").json().get("id").asText();
        var refused = server.post("api/v1/conversations/" + conversation + "/messages",
                "{\"content\":\"anyone?\",\"model\":\"" + MODEL + "\"}");
        assertThat(refused.status()).isIn(404, 503);
        assertThat(pluginBundles()).containsExactly("1.0.0");

        var enabled = admin(server.request("api/v1/admin/plugins/" + pluginId + "/enable").POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(enabled.status()).as(enabled.body()).isEqualTo(200);
        assertThat(enabled.json().at("/thisNode/state").asText()).isEqualTo("active");
        assertThat(chat("back again").answer()).isEqualTo("[echo 1.0.0] back again");
    }

    @Test
    void aYankedVersionIsShownWithTheReasonButNotInstalled() {
        assertPublished(publish(echo, "1.0.0"));
        var yanked = admin(json("api/v1/admin/registry/plugins/" + pluginId + "/1.0.0/yank", "{\"reason\":\"CVE-2026-0001\"}"));
        assertThat(yanked.status()).as(yanked.body()).isEqualTo(200);

        var plan = admin(json("api/v1/admin/plugins/dry-run", "{\"id\":\"" + pluginId + "\",\"version\":\"1.0.0\"}"));
        assertThat(plan.status()).as(plan.body()).isEqualTo(200);
        assertThat(plan.json().get("compatible").asBoolean()).isFalse();
        assertThat(plan.json().get("problems").toString()).contains("yanked").contains("CVE-2026-0001");
        var explicit = admin(json("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\",\"version\":\"1.0.0\"}"));
        assertThat(explicit.status()).as(explicit.body()).isEqualTo(422);
        var newest = admin(json("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"));
        assertThat(newest.status()).as(newest.body()).isEqualTo(404);
        assertThat(pluginBundles()).isEmpty();
    }

    @Test
    void aTamperedArtifactIsRefusedAtInstall() throws Exception {
        assertPublished(publish(echo, "1.0.0"));
        // Someone with access to the registry's storage swaps the bytes after publishing.
        Path stored;
        try (var files = Files.walk(Path.of(context.getProperty("parley.data.dir"), "registry"))) {
            stored = files.filter(p -> p.toString().contains(pluginId) && p.toString().endsWith(".jar")).findFirst().orElseThrow();
        }
        Files.write(stored, TestPluginJars.withHeaders(Files.readAllBytes(stored), Map.of("X-Evil", "yes")));

        var install = admin(json("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"));

        assertThat(install.status()).as(install.body()).isIn(422, 500, 502);
        assertThat(install.json().get("detail").asText()).containsIgnoringCase("digest");
        assertThat(pluginBundles()).isEmpty();
    }

    @Test
    void badPublishesAreRefusedWithClearReasons() {
        byte[] junk = "this is not a jar".getBytes();
        var corrupt = publishSigned(junk, Signatures.sign(junk, privateKey));
        assertThat(corrupt.status()).isIn(400, 422);
        assertThat(corrupt.json().get("detail").asText()).containsIgnoringCase("jar");

        byte[] v1 = TestPluginJars.withVersion(echo, "1.0.0");
        var badSignature = publishSigned(v1, Signatures.sign(TestPluginJars.withVersion(echo, "1.0.1"), privateKey));
        assertThat(badSignature.status()).isEqualTo(422);
        assertThat(badSignature.json().get("detail").asText()).containsIgnoringCase("signature");

        byte[] stranger = TestPluginJars.withHeaders(echo, Map.of("Parley-Plugin", pluginId
                + ";type=provider;name=\"Echo\";publisher=nobody-" + publisher));
        var unknown = publish(stranger, "1.0.0");
        assertThat(unknown.status()).isEqualTo(422);
        assertThat(unknown.json().get("detail").asText()).contains("nobody-" + publisher);

        assertPublished(publish(echo, "1.0.0"));
        var again = publish(echo, "1.0.0");
        assertThat(again.status()).isEqualTo(409);

        var unknownVersion = admin(json("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\",\"version\":\"7.0.0\"}"));
        assertThat(unknownVersion.status()).isEqualTo(404);
        var badId = admin(json("api/v1/admin/plugins", "{\"id\":\"../etc\"}"));
        assertThat(badId.status()).isEqualTo(400);
        var malformed = admin(json("api/v1/admin/plugins", "{\"id\":"));
        assertThat(malformed.status()).isEqualTo(400);
        var noToken = server.sendAnonymous(server.request("api/v1/admin/plugins").GET());
        assertThat(noToken.status()).isEqualTo(401);
        // The runtime kept serving throughout.
        assertThat(server.get("health/ready").status()).isEqualTo(200);
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    record Chat(String question, String answer, boolean startedBeforeUpgrade) {
    }

    /** Clients sending streaming chats back to back until stopped; records every outcome. */
    final class ChatLoad implements AutoCloseable {
        final ConcurrentLinkedQueue<Chat> completed = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        final AtomicBoolean running = new AtomicBoolean(true);
        final ExecutorService clients;
        final CountDownLatch stopped;

        ChatLoad(int clients) {
            this.clients = Executors.newFixedThreadPool(clients);
            this.stopped = new CountDownLatch(clients);
            for (int i = 0; i < clients; i++) {
                int client = i;
                this.clients.execute(() -> {
                    try {
                        for (int n = 0; running.get(); n++) {
                            String question = "client " + client + " asks question number " + n + " of many";
                            boolean before = pluginBundles().contains("1.0.0") && !pluginBundles().contains("1.1.0");
                            try {
                                Chat c = streamChat(question, before);
                                completed.add(c);
                            } catch (RuntimeException | AssertionError e) {
                                failures.add(question + ": " + e.getMessage());
                            }
                        }
                    } finally {
                        stopped.countDown();
                    }
                });
            }
        }

        void awaitCompleted(String prefix, int count) {
            await().atMost(Duration.ofSeconds(60)).until(() -> !failures.isEmpty()
                    || completed.stream().filter(c -> c.answer().startsWith(prefix)).count() >= count);
        }

        void stop() throws InterruptedException {
            running.set(false);
            assertThat(stopped.await(60, TimeUnit.SECONDS)).isTrue();
        }

        @Override
        public void close() {
            running.set(false);
            clients.shutdownNow();
        }
    }

    /** One chat over SSE; fails unless it ends with `done` and the tokens add up to the stored answer. */
    Chat streamChat(String question, boolean startedBeforeUpgrade) {
        String conversation = server.post("api/v1/conversations", "{}").json().get("id").asText();
        var reply = server.send(server.request("api/v1/conversations/" + conversation + "/messages")
                .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"" + question + "\",\"model\":\"" + MODEL + "\"}")));
        if (reply.status() != 200) {
            throw new IllegalStateException("status " + reply.status() + ": " + reply.body());
        }
        StringBuilder tokens = new StringBuilder();
        String doneAnswer = null;
        String event = null;
        for (String line : reply.body().split("\n")) {
            if (line.startsWith("event:")) {
                event = line.substring(6).strip();
            } else if (line.startsWith("data:")) {
                String data = line.substring(5).strip();
                var node = new Server.Reply(200, "", data).json();
                switch (event) {
                    case "token" -> tokens.append(node.get("delta").asText());
                    case "done" -> doneAnswer = node.at("/answer/content").asText();
                    case "error" -> throw new IllegalStateException("error event: " + data);
                    default -> { }
                }
            }
        }
        if (doneAnswer == null) {
            throw new IllegalStateException("stream ended without done: " + reply.body());
        }
        if (!doneAnswer.contentEquals(tokens)) {
            throw new IllegalStateException("truncated: tokens '" + tokens + "' vs answer '" + doneAnswer + "'");
        }
        return new Chat(question, doneAnswer, startedBeforeUpgrade);
    }

    Chat chat(String question) {
        return streamChat(question, false);
    }

    List<String> pluginBundles() {
        return Arrays.stream(context.getBundles())
                .filter(b -> b.getLocation().startsWith("parley-plugin:" + pluginId + "@") && b.getState() != Bundle.UNINSTALLED)
                .map(b -> b.getVersion().toString()).toList();
    }

    List<String> modelIds() {
        var ids = new ArrayList<String>();
        server.get("api/v1/models").json().get("items").forEach(m -> ids.add(m.get("id").asText()));
        return ids;
    }

    static void assertPublished(Server.Reply reply) {
        assertThat(reply.status()).as(reply.body()).isEqualTo(201);
    }

    Server.Reply publish(byte[] jar, String version) {
        byte[] artifact = version == null ? jar : TestPluginJars.withVersion(jar, version);
        return publishSigned(artifact, Signatures.sign(artifact, privateKey));
    }

    Server.Reply publishSigned(byte[] artifact, byte[] signature) {
        return server.publish(artifact, signature);
    }

    HttpRequest.Builder json(String path, String body) {
        return server.jsonPost(path, body);
    }

    Server.Reply admin(HttpRequest.Builder request) {
        return server.admin(request, adminToken);
    }
}
