package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.db.Database;
import dev.parley.itests.guard.GuardPluginJars;
import dev.parley.registry.Signatures;
import dev.parley.testsupport.FakeOpenAiServer;
import dev.parley.testsupport.plugins.TestPluginJars;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * The guard around calls into plugins, quarantine and crash-loop protection, in the real framework with every shipped
 * bundle: small provider plugins published through the registry and installed through the admin API misbehave beside
 * the real OpenAI-compatible provider (pointed at a local server), which keeps answering.
 */
class PluginGuardTest {
    static final String GUARD_PID = "dev.parley.plugin.guard";
    static final String OTHER_MODEL = "fake-model";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 20_000)
    ConfigurationAdmin configAdmin;

    @InjectService(timeout = 20_000)
    Database database;

    @InjectService(timeout = 20_000)
    ServiceComponentRuntime scr;

    Server server;
    String adminToken;
    String suffix;
    String publisher;
    String privateKey;
    FakeOpenAiServer upstream;
    Configuration providerConfig;
    Configuration guardConfig;
    final List<String> installed = new ArrayList<>();
    /** Every plugin id a test installed, uninstalled ones included: their bundles must all be gone at the end. */
    final List<String> everInstalled = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        server = new Server(http.getServiceReference());
        adminToken = Server.adminToken(context);
        suffix = UUID.randomUUID().toString().substring(0, 8);
        publisher = "guard-" + suffix;
        String[] keys = Signatures.generateKeyPair();
        privateKey = keys[1];
        var added = admin(server.jsonPost("api/v1/admin/registry/publishers",
                "{\"id\":\"" + publisher + "\",\"publicKey\":\"" + keys[0] + "\"}"));
        assertThat(added.status()).as(added.body()).isIn(200, 201);

        // The other provider: the real OpenAI-compatible plugin against a local server.
        upstream = FakeOpenAiServer.start();
        providerConfig = configAdmin.getFactoryConfiguration("dev.parley.provider.openai", "default", "?");
        var props = new Hashtable<String, Object>();
        props.put(".apiKey", "sk-itest");
        props.put("baseUrl", upstream.baseUrl());
        props.put("models", new String[] {OTHER_MODEL});
        providerConfig.update(props);
        await().atMost(Duration.ofSeconds(20)).until(() -> modelIds().contains(OTHER_MODEL));

        // Tighter bounds than the defaults, so that the tests wait seconds, not minutes.
        guardConfig = configAdmin.getConfiguration(GUARD_PID, "?");
        var guard = new Hashtable<String, Object>();
        guard.put("callTimeoutMillis", 1000L);
        guard.put("modelsWaitMillis", 100L);
        guard.put("quarantineStuckSeconds", 15);
        guardConfig.update(guard);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (String id : installed) {
            admin(server.request("api/v1/admin/plugins/" + id).DELETE());
        }
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(pluginBundles()).isEmpty());
        guardConfig.delete();
        providerConfig.delete();
        upstream.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> !modelIds().contains(OTHER_MODEL));
    }

    @Test
    void aBlockingModelListNeitherHangsTheModelListsNorReadinessWhileAnotherProviderKeepsAnswering() throws Exception {
        String pluginId = install("block-models", "blocker-" + suffix, "blocked-model-" + suffix);

        AtomicBoolean running = new AtomicBoolean(true);
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        AtomicInteger answered = new AtomicInteger();
        AtomicInteger listed = new AtomicInteger();
        AtomicLong slowestList = new AtomicLong();
        AtomicLong slowestReady = new AtomicLong();
        ExecutorService clients = Executors.newFixedThreadPool(5);
        try {
            for (int c = 0; c < 4; c++) {
                int client = c;
                clients.execute(() -> {
                    for (int n = 0; running.get(); n++) {
                        String q = "client " + client + " question " + n;
                        try {
                            var r = server.post("v1/chat/completions", "{\"model\":\"" + OTHER_MODEL
                                    + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + q + "\"}]}");
                            if (r.status() == 200 && ("echo: " + q).equals(
                                    r.json().at("/choices/0/message/content").asText())) {
                                answered.incrementAndGet();
                            } else {
                                failures.add(q + ": " + r.status() + " " + r.body());
                            }
                        } catch (RuntimeException e) {
                            failures.add(q + ": " + e);
                        }
                    }
                });
            }
            clients.execute(() -> {
                while (running.get()) {
                    try {
                        long t0 = System.nanoTime();
                        var models = server.get("v1/models");
                        slowestList.accumulateAndGet(System.nanoTime() - t0, Math::max);
                        t0 = System.nanoTime();
                        var ready = server.get("health/ready");
                        slowestReady.accumulateAndGet(System.nanoTime() - t0, Math::max);
                        if (models.status() != 200 || !models.body().contains(OTHER_MODEL)
                                || models.body().contains("blocked-model-" + suffix) || ready.status() != 200) {
                            failures.add("models " + models.status() + " ready " + ready.status() + ": "
                                    + ready.body());
                        } else {
                            listed.incrementAndGet();
                        }
                    } catch (RuntimeException e) {
                        failures.add("models/ready: " + e);
                    }
                }
            });
            // Until enough of each went through while the plugin's model list was stuck.
            await().atMost(Duration.ofSeconds(60)).until(() -> !failures.isEmpty()
                    || answered.get() >= 200 && listed.get() >= 30);
            assertThat(state(pluginId).at("/thisNode/state").asText()).as("the plugin was up all along")
                    .isEqualTo("active");
        } finally {
            running.set(false);
            clients.shutdown();
            assertThat(clients.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        }
        int chats = answered.get() + (int) failures.stream().filter(f -> f.startsWith("client")).count();
        System.out.printf("blocking listModels: %d of %d chats to %s answered (%.1f %%); %d model lists and "
                + "readiness checks, slowest %d ms / %d ms%n", answered.get(), chats, OTHER_MODEL,
                100.0 * answered.get() / Math.max(1, chats), listed.get(), slowestList.get() / 1_000_000,
                slowestReady.get() / 1_000_000);
        assertThat(failures).isEmpty();
        assertThat(answered.get()).isPositive();
        assertThat(listed.get()).isPositive();
        assertThat(Duration.ofNanos(slowestList.get())).isLessThan(Duration.ofSeconds(3));
        assertThat(Duration.ofNanos(slowestReady.get())).isLessThan(Duration.ofSeconds(3));

        // Its model list call stays stuck (15 s here): the plugin is quarantined, stopped, and shows why.
        JsonNode state = awaitState(pluginId, "quarantined");
        assertThat(state.at("/thisNode/error").asText()).contains("models() has not returned");
        assertThat(state.at("/thisNode/bundleState").asText()).isNotEqualTo("active");
        assertThat(state.get("starts").toString()).contains("\"hold\":\"quarantined\"");
        assertThat(server.get("health/ready").status()).isEqualTo(200);
        assertThat(actions(pluginId)).contains("quarantine:quarantined");
    }

    @Test
    void aPluginThatKeepsThrowingIsQuarantinedItsChatsFailOverAndAnAdminEnablesItAgain() {
        String provider = "thrower-" + suffix;
        String model = "thrown-model-" + suffix;
        String alias = "guard-" + suffix;
        String pluginId = install("throw-stream", provider, model);
        var aliased = admin(server.request("api/v1/admin/models/aliases/" + alias).header("Content-Type",
                "application/json").PUT(HttpRequest.BodyPublishers.ofString("{\"definition\":\"priority:" + provider
                        + "/" + model + ",openai/" + OTHER_MODEL + "\"}")));
        assertThat(aliased.status()).as(aliased.body()).isIn(200, 201);
        try {
            // Every call into it throws: each costs only its own answer.
            for (int i = 0; i < 6; i++) {
                var r = completion(model, "hello " + i);
                assertThat(r.status()).as(r.body()).isIn(502, 503);
                assertThat(completion(OTHER_MODEL, "meanwhile " + i).status()).isEqualTo(200);
            }
            JsonNode state = awaitState(pluginId, "quarantined");
            assertThat(state.at("/thisNode/error").asText()).contains("threw java.lang.IllegalStateException")
                    .contains("bug in the guard test plugin");
            assertThat(state.get("nodes").toString()).contains("quarantined");

            // The chat that needed it fails over to the alias's next target...
            var viaAlias = completion(alias, "via the alias");
            assertThat(viaAlias.status()).as(viaAlias.body()).isEqualTo(200);
            assertThat(viaAlias.json().at("/choices/0/message/content").asText()).isEqualTo("echo: via the alias");
            // ...and asked for by name it gets a clear problem saying why and how to lift it.
            var direct = completion(model, "directly");
            assertThat(direct.status()).as(direct.body()).isEqualTo(502);
            assertThat(direct.body()).contains("quarantined").contains("/api/v1/admin/plugins/" + pluginId + "/enable");
            assertThat(modelIds()).doesNotContain(model);

            // An admin enables it again (audited); it is started and listed again.
            var enabled = admin(server.request("api/v1/admin/plugins/" + pluginId + "/enable")
                    .POST(HttpRequest.BodyPublishers.noBody()));
            assertThat(enabled.status()).as(enabled.body()).isEqualTo(200);
            assertThat(enabled.json().at("/thisNode/state").asText()).isEqualTo("active");
            assertThat(enabled.json().get("starts").toString()).doesNotContain("\"hold\":\"quarantined\"");
            await().atMost(Duration.ofSeconds(10)).until(() -> modelIds().contains(model));
            assertThat(actions(pluginId)).contains("quarantine:quarantined", "release:ok", "enable:ok");
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(admin(server.request(
                    "api/v1/admin/audit?action=plugin.enable&target=plugin:" + pluginId).GET()).json().get("events"))
                    .isNotEmpty());
        } finally {
            admin(server.request("api/v1/admin/models/aliases/" + alias).DELETE());
        }
    }

    @Test
    void aPluginWhoseStartsKeepEndingTheServerIsHeldInstalledButStoppedAndCanBeEnabledOrUninstalled()
            throws Exception {
        String pluginId = "guard.echo." + suffix;
        byte[] echo = TestPluginJars.withHeaders(Files.readAllBytes(Path.of(context.getProperty("parley.test.plugins"),
                "echo-provider.jar")), Map.of("Parley-Plugin", pluginId + ";type=provider;name=\"Echo\";publisher="
                        + publisher));
        publish(TestPluginJars.withVersion(echo, "1.0.0"));
        var install = admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"));
        assertThat(install.status()).as(install.body()).isEqualTo(201);
        installed.add(pluginId);
        everInstalled.add(pluginId);
        String node = install.json().at("/nodes/0/nodeId").asText();
        assertThat(install.json().get("starts").toString()).contains("\"starting\":true");
        await().atMost(Duration.ofSeconds(10)).until(() -> modelIds().contains("echo-1"));

        // As two earlier processes left it: two crashed starts counted, and the start this process would judge left
        // open by a third one that ended while the plugin was in its first seconds.
        int rows = database.inTransaction("simulate crashed starts", c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE plugin_node_guard SET failed_starts = 2, "
                    + "attempt_id = 'left-open', attempt_process = 'an-earlier-process' WHERE node_id = ? "
                    + "AND plugin_id = ?")) {
                ps.setString(1, node);
                ps.setString(2, pluginId);
                return ps.executeUpdate();
            }
        });
        assertThat(rows).isEqualTo(1);

        restartPluginRuntime();

        JsonNode held = awaitState(pluginId, "crash-loop");
        assertThat(held.at("/thisNode/error").asText()).contains("3 starts in a row")
                .contains("the server stopped while the plugin was starting");
        assertThat(held.at("/thisNode/bundleState").asText()).isNotEqualTo("active");
        assertThat(held.at("/desired/enabled").asBoolean()).as("still installed and enabled cluster-wide").isTrue();
        assertThat(pluginBundles()).hasSize(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> !modelIds().contains("echo-1"));
        assertThat(server.get("health/ready").status()).isEqualTo(200);
        assertThat(actions(pluginId)).contains("start:crash-loop");

        // An admin's enable lifts the hold and starts it; the count starts over.
        var enabled = admin(server.request("api/v1/admin/plugins/" + pluginId + "/enable")
                .POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(enabled.status()).as(enabled.body()).isEqualTo(200);
        assertThat(enabled.json().at("/thisNode/state").asText()).isEqualTo("active");
        assertThat(enabled.json().at("/starts/0/failedStarts").asInt()).isZero();
        await().atMost(Duration.ofSeconds(10)).until(() -> modelIds().contains("echo-1"));

        // Held again the same way, an uninstall sent right after the runtime starts works at once.
        database.inTransaction("simulate crashed starts", c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE plugin_node_guard SET failed_starts = 2, "
                    + "attempt_id = 'left-open', attempt_process = 'an-earlier-process' WHERE node_id = ? "
                    + "AND plugin_id = ?")) {
                ps.setString(1, node);
                ps.setString(2, pluginId);
                return ps.executeUpdate();
            }
        });
        restartPluginRuntime();
        var removed = admin(server.request("api/v1/admin/plugins/" + pluginId).DELETE());
        assertThat(removed.status()).as(removed.body()).isEqualTo(204);
        installed.remove(pluginId);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(pluginBundles()).isEmpty());
        int left = database.inTransaction("read start records", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM plugin_node_guard WHERE plugin_id = ?")) {
                ps.setString(1, pluginId);
                try (var rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getInt(1);
                }
            }
        });
        assertThat(left).isZero();
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    /** The plugin runtime's component stops and starts again, as at a process start (the plugin bundles stay). */
    private void restartPluginRuntime() throws Exception {
        ComponentDescriptionDTO runtime = scr.getComponentDescriptionDTOs().stream()
                .filter(d -> d.name.equals("dev.parley.plugins.internal.PluginOperations")).findFirst().orElseThrow();
        scr.disableComponent(runtime).getValue();
        scr.enableComponent(runtime).getValue();
        await().atMost(Duration.ofSeconds(30)).until(() -> admin(server.request("api/v1/admin/plugins").GET())
                .status() == 200);
    }

    /** Publishes and installs a guard test plugin; returns its plugin id. */
    private String install(String mode, String providerId, String models) {
        String pluginId = "guard." + mode + "." + suffix;
        publish(GuardPluginJars.provider(pluginId, "1.0.0", publisher, mode, providerId, models));
        var r = admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        installed.add(pluginId);
        everInstalled.add(pluginId);
        return pluginId;
    }

    private void publish(byte[] artifact) {
        var r = server.publish(artifact, Signatures.sign(artifact, privateKey));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
    }

    private JsonNode state(String pluginId) {
        return admin(server.request("api/v1/admin/plugins/" + pluginId).GET()).json();
    }

    private JsonNode awaitState(String pluginId, String state) {
        JsonNode[] last = new JsonNode[1];
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            last[0] = admin(server.request("api/v1/admin/plugins/" + pluginId).GET()).json();
            return state.equals(last[0].at("/thisNode/state").asText());
        });
        return last[0];
    }

    private List<String> actions(String pluginId) {
        var out = new ArrayList<String>();
        admin(server.request("api/v1/admin/plugins/" + pluginId + "/events").GET()).json().get("events")
                .forEach(e -> out.add(e.get("action").asText() + ":" + e.get("outcome").asText()));
        return out;
    }

    private Server.Reply completion(String model, String text) {
        return server.post("v1/chat/completions", "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"" + text + "\"}]}");
    }

    private List<String> pluginBundles() {
        return Arrays.stream(context.getBundles())
                .filter(b -> everInstalled.stream().anyMatch(id -> b.getLocation().startsWith("parley-plugin:" + id + "@"))
                        && b.getState() != Bundle.UNINSTALLED)
                .map(b -> b.getLocation()).toList();
    }

    private List<String> modelIds() {
        var ids = new ArrayList<String>();
        server.get("api/v1/models").json().get("items").forEach(m -> ids.add(m.get("id").asText()));
        return ids;
    }

    private Server.Reply admin(HttpRequest.Builder request) {
        return server.admin(request, adminToken);
    }
}
