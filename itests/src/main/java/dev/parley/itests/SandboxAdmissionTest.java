package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.registry.PluginDescriptors;
import dev.parley.registry.PluginRegistry;
import dev.parley.registry.RegistryEntry;
import dev.parley.registry.Signatures;
import dev.parley.registry.spi.RegistryStorage;
import dev.parley.testsupport.plugins.TestPluginJars;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
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
 * The sandbox's admission in the real framework, through the admin API: a plugin whose component would end the
 * server is refused at install with the class, the method and the rule (and the refusal is in its event history and
 * the audit trail); a plugin id published by another publisher is refused by the registry, and at install should the
 * registry hold one; a plugin the server ships installs as trusted; an upgrade that asks for more permissions is held
 * until an admin approves it; the policy is read and changed through the admin API, audited.
 */
class SandboxAdmissionTest {
    static final String MODEL = "echo-1";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 20_000)
    PluginRegistry registry;

    @InjectService(timeout = 20_000, filter = "(" + RegistryStorage.KIND_PROPERTY + "=local)")
    RegistryStorage storage;

    Server server;
    String adminToken;
    String pluginId;
    String publisher;
    String privateKey;
    byte[] echo;
    final List<String> installed = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        server = new Server(http.getServiceReference());
        adminToken = Server.adminToken(context);
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        pluginId = "sandbox.echo." + suffix;
        publisher = "sandbox-" + suffix;
        String[] keys = addPublisher(publisher);
        privateKey = keys[1];
        byte[] example = Files.readAllBytes(Path.of(context.getProperty("parley.test.plugins"), "echo-provider.jar"));
        echo = TestPluginJars.withHeaders(example, Map.of("Parley-Plugin", pluginId
                + ";type=provider;name=\"Echo (sandbox)\";publisher=" + publisher));
        installed.add(pluginId);
    }

    @AfterEach
    void tearDown() {
        for (String id : installed) {
            admin(server.request("api/v1/admin/plugins/" + id).DELETE());
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> !modelIds().contains(MODEL));
    }

    @Test
    void aPluginThatWouldEndTheServerIsRefusedAtInstallWithClassMethodAndRule() {
        byte[] exiting = TestPluginJars.exitingOnActivate(pluginId, "1.0.0", publisher);
        assertPublished(server.publish(exiting, Signatures.sign(exiting, privateKey)));

        var plan = admin(json("api/v1/admin/plugins/dry-run", "{\"id\":\"" + pluginId + "\"}"));
        assertThat(plan.status()).as(plan.body()).isEqualTo(200);
        assertThat(plan.json().get("compatible").asBoolean()).isFalse();
        assertThat(plan.json().get("tier").asText()).isEqualTo("verified");
        JsonNode refusal = plan.json().at("/admission/refusals/0");
        assertThat(refusal.get("rule").asText()).isEqualTo("exit");
        assertThat(refusal.get("className").asText()).isEqualTo("dev.parley.testsupport.plugins.ExitingComponent");
        assertThat(refusal.get("method").asText()).isEqualTo("activate()");
        assertThat(refusal.get("target").asText()).isEqualTo("java.lang.System.exit(int)");

        var install = admin(json("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"));

        assertThat(install.status()).as(install.body()).isEqualTo(422);
        assertThat(install.json().get("detail").asText()).contains("nothing was installed")
                .contains("refused at admission (tier verified)").contains("rule exit")
                .contains("dev.parley.testsupport.plugins.ExitingComponent.activate()")
                .contains("uses java.lang.System.exit(int)");
        assertThat(pluginBundles(pluginId)).isEmpty();
        assertThat(server.get("health/ready").status()).isEqualTo(200);
        var events = admin(server.request("api/v1/admin/plugins/" + pluginId + "/events").GET()).json().get("events");
        assertThat(events.get(0).get("action").asText() + ":" + events.get(0).get("outcome").asText())
                .isEqualTo("install:refused");
        assertThat(events.get(0).get("detail").asText()).contains("rule exit").contains("ExitingComponent.activate()");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            JsonNode denied = auditRow("plugin.admission", "plugin:" + pluginId);
            assertThat(denied).as("plugin.admission in the audit trail").isNotNull();
            assertThat(denied.get("outcome").asText()).isEqualTo("DENIED");
            assertThat(denied.at("/detail/rule").asText()).isEqualTo("exit");
            assertThat(denied.at("/detail/class").asText()).isEqualTo("dev.parley.testsupport.plugins.ExitingComponent");
            assertThat(denied.at("/detail/method").asText()).isEqualTo("activate()");
            assertThat(denied.at("/detail/tier").asText()).isEqualTo("verified");
            JsonNode failed = auditRow("plugin.install", "plugin:" + pluginId);
            assertThat(failed.get("outcome").asText()).isEqualTo("FAILURE");
            assertThat(failed.at("/detail/error").asText()).isEqualTo("plugin-rejected");
        });
    }

    @Test
    void aPluginIdBelongsToItsFirstPublisher() {
        assertPublished(publish(echo, "1.0.0"));
        String other = "other-" + publisher;
        String[] otherKeys = addPublisher(other);
        byte[] takeover = TestPluginJars.withHeaders(TestPluginJars.withVersion(echo, "2.0.0"), Map.of("Parley-Plugin",
                pluginId + ";type=provider;name=\"Not the echo\";publisher=" + other));

        var refused = server.publish(takeover, Signatures.sign(takeover, otherKeys[1]));

        assertThat(refused.status()).as(refused.body()).isEqualTo(422);
        assertThat(refused.json().get("detail").asText()).contains("plugin id '" + pluginId + "' belongs to publisher '"
                + publisher + "'");
        assertThat(registry.versions(pluginId)).extracting(RegistryEntry::version).containsExactly("1.0.0");

        // A registry that took such an upload before ids were bound to their publisher (written to its storage
        // directly, as it was then): admission refuses to install it.
        var d = PluginDescriptors.read(takeover);
        byte[] signature = Signatures.sign(takeover, otherKeys[1]);
        String sha = Signatures.sha256Hex(takeover);
        storage.putArtifact(pluginId, "2.0.0", sha, takeover);
        storage.insert(new RegistryEntry(d.id(), d.version(), d.symbolicName(), d.type(), d.displayName(),
                d.description(), d.publisher(), RegistryEntry.STABLE, false, null, d.apiImports(), d.apiRange(),
                d.permissions(), sha, takeover.length, Base64.getEncoder().encodeToString(signature), Instant.now()));

        var plan = admin(json("api/v1/admin/plugins/dry-run", "{\"id\":\"" + pluginId + "\",\"version\":\"2.0.0\"}"));
        assertThat(plan.json().get("compatible").asBoolean()).isFalse();
        assertThat(plan.json().get("problems").toString()).contains("plugin id '" + pluginId
                + "' belongs to publisher '" + publisher + "', not '" + other + "'");
        var install = admin(json("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\",\"version\":\"2.0.0\"}"));
        assertThat(install.status()).as(install.body()).isEqualTo(422);
        assertThat(install.json().get("detail").asText()).contains("rule publisher").contains("belongs to publisher");
        assertThat(pluginBundles(pluginId)).isEmpty();

        var original = admin(json("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\",\"version\":\"1.0.0\"}"));
        assertThat(original.status()).as(original.body()).isEqualTo(201);
        assertThat(chat("who answers?")).isEqualTo("[echo 1.0.0] who answers?");
    }

    @Test
    void aPluginTheServerShipsIsAdmittedAsTrustedAndInstalls() throws Exception {
        byte[] ollama = Files.readAllBytes(Path.of(context.getProperty("parley.test.plugins"),
                "dev.parley.provider.ollama.jar"));
        RegistryEntry shipped = registry.publishShipped(ollama);
        installed.add(shipped.id());

        var plan = admin(json("api/v1/admin/plugins/dry-run", "{\"id\":\"" + shipped.id() + "\"}"));
        assertThat(plan.status()).as(plan.body()).isEqualTo(200);
        assertThat(plan.json().get("problems").toString()).isEqualTo("[]");
        assertThat(plan.json().get("tier").asText()).isEqualTo("trusted");
        assertThat(plan.json().at("/admission/admitted").asBoolean()).isTrue();
        assertThat(plan.json().at("/admission/scan/classes").asInt()).isGreaterThan(100);
        System.out.printf("shipped ollama %s: %d classes scanned in %d ms, reported %s%n", shipped.version(),
                plan.json().at("/admission/scan/classes").asInt(), plan.json().at("/admission/scan/millis").asLong(),
                plan.json().at("/admission/reportedCount"));

        var install = admin(json("api/v1/admin/plugins", "{\"id\":\"" + shipped.id() + "\"}"));

        assertThat(install.status()).as(install.body()).isEqualTo(201);
        assertThat(install.json().at("/thisNode/state").asText()).isIn("active", "needs-configuration");
        assertThat(pluginBundles(shipped.id())).containsExactly(shipped.version());
    }

    @Test
    void anUpgradeAskingForMorePermissionsIsHeldUntilAnAdminApprovesIt() {
        assertPublished(publish(echo, "1.0.0"));
        assertThat(admin(json("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}")).status()).isEqualTo(201);
        byte[] wider = TestPluginJars.withHeaders(echo, Map.of("Parley-Permissions",
                "thread;target=2, network;target=\"api.example.com:443\""));
        assertPublished(publish(wider, "1.1.0"));

        var plan = admin(json("api/v1/admin/plugins/dry-run", "{\"id\":\"" + pluginId + "\",\"version\":\"1.1.0\"}"));
        assertThat(plan.json().get("approvalRequired").asBoolean()).isTrue();
        assertThat(plan.json().get("permissionsAdded").toString()).contains("api.example.com:443");

        var upgrade = admin(json("api/v1/admin/plugins/" + pluginId + "/upgrade", "{\"version\":\"1.1.0\"}"));

        assertThat(upgrade.status()).as(upgrade.body()).isEqualTo(202);
        assertThat(upgrade.json().at("/desired/version").asText()).isEqualTo("1.0.0");
        assertThat(upgrade.json().at("/held/toVersion").asText()).isEqualTo("1.1.0");
        assertThat(upgrade.json().at("/held/permissionsAdded/0/target").asText()).isEqualTo("api.example.com:443");
        assertThat(chat("still the old one?")).isEqualTo("[echo 1.0.0] still the old one?");
        var state = admin(server.request("api/v1/admin/plugins/" + pluginId).GET()).json();
        assertThat(state.at("/held/toVersion").asText()).isEqualTo("1.1.0");
        var wrongVersion = admin(server.request("api/v1/admin/plugins/" + pluginId + "/approve?version=9.0.0")
                .POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(wrongVersion.status()).as(wrongVersion.body()).isEqualTo(409);

        var approved = admin(server.request("api/v1/admin/plugins/" + pluginId + "/approve?version=1.1.0")
                .POST(HttpRequest.BodyPublishers.noBody()));

        assertThat(approved.status()).as(approved.body()).isEqualTo(200);
        assertThat(approved.json().at("/desired/version").asText()).isEqualTo("1.1.0");
        assertThat(approved.json().get("held").isNull()).isTrue();
        assertThat(chat("and now?")).isEqualTo("[echo 1.1.0] and now?");
        var again = admin(server.request("api/v1/admin/plugins/" + pluginId + "/approve")
                .POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(again.status()).isEqualTo(404);
        var events = new ArrayList<String>();
        admin(server.request("api/v1/admin/plugins/" + pluginId + "/events").GET()).json().get("events")
                .forEach(e -> events.add(e.get("action").asText() + ":" + e.get("outcome").asText()));
        assertThat(events).contains("upgrade:held", "upgrade:ok");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            JsonNode held = auditRow("plugin.upgrade.held", "plugin:" + pluginId);
            assertThat(held).isNotNull();
            assertThat(held.at("/detail/permissionsAdded").asText()).contains("network api.example.com:443");
            // Newest first: the approve after it (nothing held any more), the approve, the approve of another version.
            assertThat(auditRows("plugin.approve", "plugin:" + pluginId)).extracting(e -> e.get("outcome").asText()
                    + " " + e.at("/detail/error").asText()).containsExactly("FAILURE not-found", "SUCCESS ",
                            "FAILURE conflict");
        });
    }

    @Test
    void anAdminReadsAndChangesThePolicyAndEveryChangeIsAudited() {
        assertPublished(publish(echo, "1.0.0"));
        var all = admin(server.request("api/v1/admin/sandbox/policy").GET());
        assertThat(all.status()).as(all.body()).isEqualTo(200);
        assertThat(all.json().get("tiers")).hasSize(3);
        assertThat(all.json().get("rules").toString()).contains("\"id\":\"exit\"").contains("\"coveredBy\":\"thread\"");
        var untrusted = admin(server.request("api/v1/admin/sandbox/policy/untrusted").GET()).json();
        JsonNode policy = untrusted.get("policy");
        String named = policy.toString().replaceFirst("\"publishers\":\\[[^\\]]*\\]",
                "\"publishers\":[\"" + publisher + "\"]");

        try {
            var changed = admin(server.request("api/v1/admin/sandbox/policy/untrusted")
                    .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(named)));
            assertThat(changed.status()).as(changed.body()).isEqualTo(200);
            assertThat(changed.json().get("source").asText()).isEqualTo("database");
            assertThat(changed.json().at("/policy/publishers/0").asText()).isEqualTo(publisher);

            var plan = admin(json("api/v1/admin/plugins/dry-run", "{\"id\":\"" + pluginId + "\"}"));
            assertThat(plan.json().get("tier").asText()).isEqualTo("untrusted");
            assertThat(plan.json().get("compatible").asBoolean()).isFalse();
            assertThat(plan.json().get("problems").toString()).contains("thread 2 cannot be granted in tier untrusted")
                    .contains("Import-Package org.osgi.framework is not allowed in tier untrusted");
            assertThat(admin(json("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}")).status()).isEqualTo(422);

            var misspelt = admin(server.request("api/v1/admin/sandbox/policy/untrusted")
                    .header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString(named.replace("\"imports\"", "\"imprts\""))));
            assertThat(misspelt.status()).as(misspelt.body()).isEqualTo(400);
            assertThat(misspelt.json().get("detail").asText()).contains("imprts");
            var otherTier = admin(server.request("api/v1/admin/sandbox/policy/trusted")
                    .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(named)));
            assertThat(otherTier.status()).isEqualTo(400);
            assertThat(admin(server.request("api/v1/admin/sandbox/policy/sandboxed").GET()).status()).isEqualTo(404);
        } finally {
            var reset = admin(server.request("api/v1/admin/sandbox/policy/untrusted").DELETE());
            assertThat(reset.status()).as(reset.body()).isEqualTo(200);
            assertThat(reset.json().get("source").asText()).isEqualTo("default");
        }
        var plan = admin(json("api/v1/admin/plugins/dry-run", "{\"id\":\"" + pluginId + "\"}"));
        assertThat(plan.json().get("tier").asText()).isEqualTo("verified");
        assertThat(plan.json().get("compatible").asBoolean()).as(plan.body()).isTrue();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(auditRow("sandbox.policy.change", "sandbox-policy:untrusted")).isNotNull();
            assertThat(auditRow("sandbox.policy.reset", "sandbox-policy:untrusted").get("outcome").asText())
                    .isEqualTo("SUCCESS");
        });
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    /** The newest audit row of {@code action} on {@code target}, or null. */
    JsonNode auditRow(String action, String target) {
        List<JsonNode> rows = auditRows(action, target);
        return rows.isEmpty() ? null : rows.get(0);
    }

    /** The audit rows of {@code action} on {@code target}, newest first. */
    List<JsonNode> auditRows(String action, String target) {
        var reply = admin(server.request("api/v1/admin/audit?action=" + action + "&limit=100").GET());
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        List<JsonNode> rows = new ArrayList<>();
        for (JsonNode e : reply.json().get("events")) {
            if (target.equals(e.get("target").asText())) {
                rows.add(e);
            }
        }
        return rows;
    }

    String[] addPublisher(String id) {
        String[] keys = Signatures.generateKeyPair();
        var added = admin(json("api/v1/admin/registry/publishers", "{\"id\":\"" + id + "\",\"publicKey\":\"" + keys[0]
                + "\"}"));
        assertThat(added.status()).as(added.body()).isIn(200, 201);
        return keys;
    }

    String chat(String question) {
        String conversation = server.post("api/v1/conversations", "{}").json().get("id").asText();
        var reply = server.post("api/v1/conversations/" + conversation + "/messages",
                "{\"content\":\"" + question + "\",\"model\":\"" + MODEL + "\"}");
        assertThat(reply.status()).as(reply.body()).isIn(200, 201);
        return reply.json().at("/answer/content").asText();
    }

    List<String> pluginBundles(String id) {
        return Arrays.stream(context.getBundles())
                .filter(b -> b.getLocation().startsWith("parley-plugin:" + id + "@") && b.getState() != Bundle.UNINSTALLED)
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
        byte[] artifact = TestPluginJars.withVersion(jar, version);
        return server.publish(artifact, Signatures.sign(artifact, privateKey));
    }

    HttpRequest.Builder json(String path, String body) {
        return server.jsonPost(path, body);
    }

    Server.Reply admin(HttpRequest.Builder request) {
        return server.admin(request, adminToken);
    }

}
