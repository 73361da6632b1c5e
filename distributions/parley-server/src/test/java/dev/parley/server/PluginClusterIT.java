package dev.parley.server;

import static dev.parley.server.PluginAdmin.ECHO_ID;
import static dev.parley.server.PluginAdmin.ECHO_MODEL;
import static dev.parley.server.PluginAdmin.ECHO_PUBLISHER;
import static dev.parley.server.PluginAdmin.nodeStatus;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.registry.Signatures;
import dev.parley.testsupport.plugins.TestPluginJars;
import dev.parley.testsupport.s3.S3ProxyServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.jclouds.blobstore.options.ListContainerOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two Parley processes sharing one PostgreSQL database (a schema of their own) and one S3-compatible registry
 * storage: a plugin installed, upgraded and uninstalled through either node's admin API reaches the other node
 * through the desired state in the database and each node's reconciler; a restarted node (whose framework starts
 * with an empty bundle cache) comes back with the desired version.
 */
class PluginClusterIT {
    static final String BUCKET = "parley-plugins";
    static final String TOKEN = "cluster-admin-" + UUID.randomUUID();
    static final Duration CONVERGE = Duration.ofSeconds(30);

    PostgresSchema pg;
    String schema;

    @BeforeEach
    void createSchema() throws Exception {
        pg = PostgresSchema.create("parley_cluster_");
        schema = pg.name;
    }

    @AfterEach
    void dropSchema() throws Exception {
        pg.close();
    }

    @Test
    void aPluginInstalledUpgradedAndRemovedOnOneNodeFollowsOnTheOther(@TempDir Path temp) throws Exception {
        try (var s3 = new S3ProxyServer()) {
            s3.createBucket(BUCKET);
            var common = new HashMap<String, String>();
            common.putAll(pg.serverEnv());
            common.put("PARLEY_REGISTRY_STORAGE", "s3");
            common.put("PARLEY_REGISTRY_S3_ENDPOINT", s3.endpoint().toString());
            common.put("PARLEY_REGISTRY_S3_BUCKET", BUCKET);
            common.put("PARLEY_REGISTRY_S3_ACCESS_KEY", S3ProxyServer.ACCESS_KEY);
            common.put("PARLEY_REGISTRY_S3_SECRET_KEY", S3ProxyServer.SECRET_KEY);
            common.put("PARLEY_REGISTRY_S3_REGION", "us-east-1");
            common.put("PARLEY_ADMIN_TOKEN", TOKEN);

            // One after the other: the first start migrates the schema.
            try (var nodeA = start(temp.resolve("node-a"), "node-a", common);
                    var nodeB = start(temp.resolve("node-b"), "node-b", common)) {
                var a = new PluginAdmin(nodeA, TOKEN);
                var b = new PluginAdmin(nodeB, TOKEN);
                assertThat(a.list().json().path("node").asText()).isEqualTo("node-a");
                assertThat(b.list().json().path("node").asText()).isEqualTo("node-b");

                String[] keys = Signatures.generateKeyPair();
                assertThat(a.addPublisher(ECHO_PUBLISHER, keys[0]).status()).isEqualTo(201);
                byte[] example = PluginAdmin.exampleJar();
                var published = a.publish(TestPluginJars.withVersion(example, "1.0.0"), keys[1]);
                assertThat(published.status()).as(published.body()).isEqualTo(201);
                // The other node reads the same registry: metadata in the shared database, the jar in S3.
                assertThat(s3.blobs().list(BUCKET, ListContainerOptions.Builder.recursive()))
                        .anySatisfy(blob -> assertThat(blob.getName()).contains(ECHO_ID + "/1.0.0/"));

                // Install through A: A switches synchronously, B follows through its reconciler.
                var installed = a.install(ECHO_ID, "1.0.0");
                assertThat(installed.status()).as(installed.body()).isEqualTo(201);
                assertThat(a.answer(ECHO_MODEL, "hello from a")).isEqualTo("[echo 1.0.0] hello from a");
                await().atMost(CONVERGE).until(() -> b.answer(ECHO_MODEL, "hello from b"), "[echo 1.0.0] hello from b"::equals);
                for (var node : new PluginAdmin[] {a, b}) {
                    await().atMost(CONVERGE).untilAsserted(() -> assertBothNodes(node.state(ECHO_ID), "active", "1.0.0"));
                }

                // Upgrade through B: A converges.
                assertThat(a.publish(TestPluginJars.withVersion(example, "1.1.0"), keys[1]).status()).isEqualTo(201);
                var upgraded = b.upgrade(ECHO_ID, "1.1.0");
                assertThat(upgraded.status()).as(upgraded.body()).isEqualTo(200);
                assertThat(b.answer(ECHO_MODEL, "upgraded?")).isEqualTo("[echo 1.1.0] upgraded?");
                await().atMost(CONVERGE).until(() -> a.answer(ECHO_MODEL, "and a?"), "[echo 1.1.0] and a?"::equals);
                await().atMost(CONVERGE).untilAsserted(() -> assertBothNodes(a.state(ECHO_ID), "active", "1.1.0"));
                assertThat(a.state(ECHO_ID).json().at("/thisNode/version").asText()).isEqualTo("1.1.0");

                // Restart B with the same data directory. The launcher starts the framework with a clean bundle
                // cache, so 1.1.0 can only come back from the desired state in the database and B's reconciler.
                assertThat(nodeB.stop()).isEqualTo(143);
                assertThat(a.answer(ECHO_MODEL, "alone")).isEqualTo("[echo 1.1.0] alone");
                nodeB.start();
                await().atMost(CONVERGE).until(() -> b.answer(ECHO_MODEL, "back?"), "[echo 1.1.0] back?"::equals);
                assertThat(b.state(ECHO_ID).json().at("/thisNode/version").asText()).isEqualTo("1.1.0");
                assertThat(b.events(ECHO_ID).json().path("events")).as("B's reconciler installed 1.1.0 from nothing")
                        .anySatisfy(e -> {
                            assertThat(e.path("nodeId").asText()).isEqualTo("node-b");
                            assertThat(e.path("action").asText()).isEqualTo("reconcile");
                            assertThat(e.path("fromVersion").isNull()).isTrue();
                            assertThat(e.path("toVersion").asText()).isEqualTo("1.1.0");
                            assertThat(e.path("outcome").asText()).isEqualTo("ok");
                        });
                assertBothNodes(b.state(ECHO_ID), "active", "1.1.0");

                // Uninstall through A: the model disappears from both nodes, and so does the plugin.
                assertThat(a.uninstall(ECHO_ID).status()).isEqualTo(204);
                await().atMost(CONVERGE).until(() -> !a.modelIds().contains(ECHO_MODEL));
                await().atMost(CONVERGE).until(() -> !b.modelIds().contains(ECHO_MODEL));
                assertThat(a.state(ECHO_ID).status()).isEqualTo(404);
                await().atMost(CONVERGE).until(() -> b.state(ECHO_ID).status() == 404);
                var chat = b.chat(ECHO_MODEL, "anyone?");
                assertThat(chat.status()).as(chat.body()).isIn(404, 503);
                // What is left is the OpenAI-compatible plugin the distribution installed on both nodes (ParleyProcess
                // seeds it): nothing of the example.
                var left = new ArrayList<String>();
                try (var c = PostgresSchema.connect(); var s = c.createStatement();
                        var rs = s.executeQuery("SELECT plugin_id, node_id FROM " + schema
                                + ".plugin_node_status ORDER BY plugin_id, node_id")) {
                    while (rs.next()) {
                        left.add(rs.getString(1) + "@" + rs.getString(2));
                    }
                }
                assertThat(left).as("per-node status rows left after uninstall").containsExactly("openai@node-a",
                        "openai@node-b");
            }
        }
    }

    static ParleyProcess start(Path dataDir, String nodeId, Map<String, String> common) throws Exception {
        // A fast reconciler, through the config directory as an operator would set it.
        Files.createDirectories(dataDir.resolve("config"));
        Files.writeString(dataDir.resolve("config").resolve("plugins.json"),
                "{\"dev.parley.plugins\": {\"reconcileIntervalSeconds\": 1}}");
        var env = new HashMap<>(common);
        env.put("PARLEY_NODE_ID", nodeId);
        return ParleyProcess.start(dataDir, env);
    }

    /** Both nodes report {@code state} at {@code version} in this admin view of the plugin. */
    static void assertBothNodes(PluginAdmin.Reply reply, String state, String version) {
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        JsonNode view = reply.json();
        for (String node : new String[] {"node-a", "node-b"}) {
            var status = nodeStatus(view, node);
            assertThat(status).as("status of %s in %s", node, reply.body()).isPresent();
            assertThat(status.get().path("state").asText()).as(node).isEqualTo(state);
            assertThat(status.get().path("version").asText()).as(node).isEqualTo(version);
        }
    }
}
