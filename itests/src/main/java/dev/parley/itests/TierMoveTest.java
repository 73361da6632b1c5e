package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.itests.oop.HostedPluginJars;
import dev.parley.pluginhost.HostStatus;
import dev.parley.pluginhost.PluginHosts;
import dev.parley.registry.Signatures;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * A change of the sandbox policy moves a running plugin between the server's process and a plugin host (ADR 27,
 * ADR 31): listed in the untrusted tier through the audited admin API, a verified publisher's plugin is installed again
 * by the plugin runtime as a stand-in whose jar runs in a host process, beside the running bundle until the host
 * serves; with the tier put back it runs in the server's process again. Each move is an event of the plugin.
 */
class TierMoveTest {
    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    PluginHosts hosts;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    Server server;
    String adminToken;
    String suffix;
    String pluginId;

    @BeforeEach
    void setUp() throws Exception {
        server = new Server(http.getServiceReference());
        adminToken = Server.adminToken(context);
        suffix = UUID.randomUUID().toString().substring(0, 8);
    }

    @AfterEach
    void tearDown() {
        if (pluginId != null) {
            admin(server.request("api/v1/admin/plugins/" + pluginId).DELETE());
        }
        var reset = admin(server.request("api/v1/admin/sandbox/policy/untrusted").DELETE());
        assertThat(reset.status()).as(reset.body()).isEqualTo(200);
        if (pluginId != null) {
            await().atMost(Duration.ofSeconds(30)).until(() -> hosts.hosts().stream()
                    .noneMatch(h -> h.pluginId().equals(pluginId)));
        }
    }

    @Test
    void aPluginListedInTheUntrustedTierMovesOutOfProcessAndBackInWhenTheTierIsPutBack() throws Exception {
        // A verified publisher (an admin added its key: tier verified, in process).
        String id = installVerified("move");
        String provider = "move-" + suffix;
        String model = "move-model-" + suffix;

        Bundle inProcess = plugin().orElseThrow();
        assertThat(inProcess.getHeaders("").get(PluginHosts.HEADER)).as("in process: no stand-in").isNull();
        assertThat(hostOf(id)).isEmpty();
        assertAnswers(model, "in the server");
        assertThat(providerBundles(provider)).containsExactly(inProcess.getBundleId());

        // The admin lists the plugin in the untrusted tier, which runs its plugins out of process.
        JsonNode untrusted = tier("untrusted");
        ArrayNode plugins = untrusted.has("plugins") && untrusted.get("plugins").isArray()
                ? (ArrayNode) untrusted.get("plugins") : ((ObjectNode) untrusted).putArray("plugins");
        plugins.add(id);
        long t0 = System.nanoTime();
        put("untrusted", untrusted);

        // The in-process bundle is retired once the new form has passed its health gate (its host serves).
        await().atMost(Duration.ofSeconds(60)).until(() -> inProcess.getState() == Bundle.UNINSTALLED);
        long outMillis = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        Bundle standIn = plugin().orElseThrow();
        assertThat(standIn.getHeaders("").get(PluginHosts.HEADER))
                .isEqualTo("heapMb=256;cpuMillicores=1000;maxThreads=16;maxHostThreads=80");
        assertThat(standIn.getBundleId()).isNotEqualTo(inProcess.getBundleId());
        assertThat(standIn.getState()).isEqualTo(Bundle.ACTIVE);
        HostStatus host = hosts.host(standIn.getBundleId()).orElseThrow();
        assertThat(host.state()).isEqualTo("running");
        assertThat(host.providers()).containsExactly(provider);
        assertThat(host.pid()).isNotEqualTo(ProcessHandle.current().pid());
        assertThat(ProcessHandle.of(host.pid()).map(ProcessHandle::isAlive).orElse(false)).isTrue();
        // The only provider left is the stand-in's proxy.
        assertThat(providerBundles(provider)).containsExactly(standIn.getBundleId());
        assertAnswers(model, "from a plugin host");
        assertThat(event(id, "move")).isPresent().get().satisfies(e -> {
            assertThat(e.get("outcome").asText()).isEqualTo("ok");
            assertThat(e.get("detail").asText()).contains("listed in tier untrusted").contains("moved out of process")
                    .contains("it ran in process");
        });
        assertThat(admin(server.request("api/v1/admin/plugins/" + id).GET()).json().at("/thisNode/host/pid").asLong())
                .isEqualTo(host.pid());

        // Other limits for the tier: the plugin gets a new host with them; the old host serves until then.
        ((ObjectNode) untrusted.get("limits")).put("heapMb", 128);
        put("untrusted", untrusted);
        await().atMost(Duration.ofSeconds(60)).until(() -> standIn.getState() == Bundle.UNINSTALLED);
        Bundle resized = plugin().orElseThrow();
        assertThat(resized.getHeaders("").get(PluginHosts.HEADER))
                .isEqualTo("heapMb=128;cpuMillicores=1000;maxThreads=16;maxHostThreads=80");
        HostStatus smaller = hosts.host(resized.getBundleId()).orElseThrow();
        assertThat(smaller.state()).isEqualTo("running");
        assertThat(smaller.pid()).isNotEqualTo(host.pid());
        await().atMost(Duration.ofSeconds(30)).until(() -> !ProcessHandle.of(host.pid())
                .map(ProcessHandle::isAlive).orElse(false));
        assertAnswers(model, "from a smaller host");
        assertThat(event(id, "move")).isPresent().get().satisfies(e -> assertThat(e.get("detail").asText())
                .contains("out of process (heapMb=128;").contains("it ran out of process (heapMb=256;"));

        // The tier put back to its default (which lists no plugin): the plugin is verified's again, in process.
        long t1 = System.nanoTime();
        var reset = admin(server.request("api/v1/admin/sandbox/policy/untrusted").DELETE());
        assertThat(reset.status()).as(reset.body()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(60)).until(() -> resized.getState() == Bundle.UNINSTALLED);
        long inMillis = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t1);
        Bundle back = plugin().orElseThrow();
        assertThat(back.getHeaders("").get(PluginHosts.HEADER)).as("in process again").isNull();
        assertThat(back.getBundleId()).isNotEqualTo(resized.getBundleId());
        await().atMost(Duration.ofSeconds(30)).until(() -> hostOf(id).isEmpty());
        await().atMost(Duration.ofSeconds(30)).until(() -> !ProcessHandle.of(smaller.pid())
                .map(ProcessHandle::isAlive).orElse(false));
        assertThat(providerBundles(provider)).containsExactly(back.getBundleId());
        assertAnswers(model, "back in the server");
        List<JsonNode> moves = events(id).stream().filter(e -> e.get("action").asText().equals("move")).toList();
        assertThat(moves).hasSize(3);
        assertThat(moves.get(0).get("outcome").asText()).isEqualTo("ok"); // newest first
        assertThat(moves.get(0).get("detail").asText()).contains("in its publisher's tier verified")
                .contains("moved into the server's process").contains("it ran out of process");
        System.out.printf("tier move: out in %d ms (host pid %d), back in %d ms (bundle %d), each from the policy "
                + "change to the old form retired%n", outMillis, host.pid(), inMillis, back.getBundleId());
    }

    @Test
    void aMoveTheNewTierRefusesLeavesThePluginRunningWhereItWasWithTheReasonAsAnEvent() throws Exception {
        String id = installVerified("stay");
        String model = "stay-model-" + suffix;
        Bundle inProcess = plugin().orElseThrow();

        // Untrusted, narrowed to SLF4J: the plugin's API imports are not allowed there, so admission refuses the move.
        JsonNode untrusted = tier("untrusted");
        ((ObjectNode) untrusted).putArray("plugins").add(id);
        ((ObjectNode) untrusted).putArray("imports").add("org.slf4j");
        put("untrusted", untrusted);

        JsonNode refused = await().atMost(Duration.ofSeconds(60)).until(() -> event(id, "move").orElse(null),
                e -> e != null);
        assertThat(refused.get("outcome").asText()).isEqualTo("refused");
        assertThat(refused.get("detail").asText()).contains("listed in tier untrusted")
                .contains("not moved, it keeps running as it was").contains("dev.parley.api");
        assertThat(plugin()).contains(inProcess);
        assertThat(inProcess.getHeaders("").get(PluginHosts.HEADER)).isNull();
        assertThat(hostOf(id)).isEmpty();
        assertAnswers(model, "still in the server");
        System.out.printf("tier move refused: %s%n", refused.get("detail").asText());
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    /**
     * Installs, through the admin API, the inline plugin {@code hosted.<name>.<suffix>} (provider
     * {@code <name>-<suffix>}, model {@code <name>-model-<suffix>}) of a publisher whose key an admin added (tier
     * verified: in process), and makes it the plugin the test removes afterwards. @return its id
     */
    private String installVerified(String name) {
        String publisher = name + "-" + suffix;
        String[] keys = Signatures.generateKeyPair();
        var added = admin(server.jsonPost("api/v1/admin/registry/publishers",
                "{\"id\":\"" + publisher + "\",\"publicKey\":\"" + keys[0] + "\"}"));
        assertThat(added.status()).as(added.body()).isIn(200, 201);
        String id = "hosted." + name + "." + suffix;
        byte[] jar = HostedPluginJars.inline(id, publisher, name + "-" + suffix, name + "-model-" + suffix);
        var published = server.publish(jar, Signatures.sign(jar, keys[1]));
        assertThat(published.status()).as(published.body()).isEqualTo(201);
        var install = admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + id + "\"}"));
        assertThat(install.status()).as(install.body()).isEqualTo(201);
        pluginId = id;
        return id;
    }

    /** The plugin's bundle the runtime runs: installed at one of its locations and not on its way out. */
    private Optional<Bundle> plugin() {
        return Arrays.stream(context.getBundles())
                .filter(b -> b.getLocation().startsWith("parley-plugin:" + pluginId + "@"))
                .filter(b -> b.getState() == Bundle.ACTIVE)
                .reduce((a, b) -> b); // the newest: the old one is active only until it is retired
    }

    private Optional<HostStatus> hostOf(String id) {
        return hosts.hosts().stream().filter(h -> h.pluginId().equals(id)).findFirst();
    }

    /** The bundles registering a chat provider with {@code providerId}. */
    private List<Long> providerBundles(String providerId) throws Exception {
        List<Long> out = new ArrayList<>();
        for (ServiceReference<ChatModelProvider> ref : context.getServiceReferences(ChatModelProvider.class,
                "(parley.provider.id=" + providerId + ")")) {
            out.add(ref.getBundle().getBundleId());
        }
        return out;
    }

    private void assertAnswers(String model, String text) {
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            var reply = server.post("v1/chat/completions", "{\"model\":\"" + model
                    + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}]}");
            assertThat(reply.status()).as(reply.body()).isEqualTo(200);
            assertThat(reply.json().at("/choices/0/message/content").asText()).isEqualTo("[inline] " + text);
        });
    }

    private List<JsonNode> events(String id) {
        var r = admin(server.request("api/v1/admin/plugins/" + id + "/events").GET());
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        List<JsonNode> out = new ArrayList<>();
        r.json().get("events").forEach(out::add);
        return out;
    }

    private Optional<JsonNode> event(String id, String action) {
        return events(id).stream().filter(e -> e.get("action").asText().equals(action)).findFirst();
    }

    private JsonNode tier(String tier) {
        var r = admin(server.request("api/v1/admin/sandbox/policy/" + tier).GET());
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json().get("policy");
    }

    private void put(String tier, JsonNode policy) {
        var r = admin(server.request("api/v1/admin/sandbox/policy/" + tier).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(policy.toString())));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
    }

    private Server.Reply admin(HttpRequest.Builder request) {
        return server.admin(request, adminToken);
    }
}
