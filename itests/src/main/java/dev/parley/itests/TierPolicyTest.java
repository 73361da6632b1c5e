package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.itests.guard.GuardPluginJars;
import dev.parley.registry.Signatures;
import dev.parley.sandbox.hooks.Confinement;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * The sandbox policy's tiers drive the call guard and the framework hooks (ADR 33), in the real framework with every
 * shipped bundle: a change of a tier through the audited admin API bounds the calls into a running plugin of the tier
 * from the next call on (its timeout, its calls at once), with no restart and no reinstall; and a tier whose imports
 * leave out a package keeps a plugin of the tier from wiring to it, naming the tier.
 */
class TierPolicyTest {
    static final String GUARD_PID = "dev.parley.plugin.guard";
    static final String GUARD_COMPONENT = "dev.parley.core.internal.PluginGuard";
    static final String GUARD_TIER_COMPONENT = "dev.parley.core.internal.GuardTier";
    static final String HOOKS_TIER_COMPONENT = "dev.parley.sandbox.hooks.internal.SandboxTier";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 20_000)
    ConfigurationAdmin configAdmin;

    @InjectService(timeout = 20_000)
    ServiceComponentRuntime scr;

    @InjectService(timeout = 20_000)
    Confinement confinement;

    Server server;
    String adminToken;
    String suffix;
    String publisher;
    String privateKey;
    Configuration guardConfig;
    final List<String> installed = new ArrayList<>();
    final List<Bundle> probes = new ArrayList<>();
    ExecutorService clients;

    @BeforeEach
    void setUp() throws Exception {
        server = new Server(http.getServiceReference());
        adminToken = Server.adminToken(context);
        suffix = UUID.randomUUID().toString().substring(0, 8);
        publisher = "tier-" + suffix;
        String[] keys = Signatures.generateKeyPair();
        privateKey = keys[1];
        var added = admin(server.jsonPost("api/v1/admin/registry/publishers",
                "{\"id\":\"" + publisher + "\",\"publicKey\":\"" + keys[0] + "\"}"));
        assertThat(added.status()).as(added.body()).isIn(200, 201);
        clients = Executors.newCachedThreadPool();

        // The guard's own bounds stay the defaults (5 s, 32 calls: the ceiling); calls stuck on purpose here must not
        // quarantine the plugin meanwhile.
        guardConfig = configAdmin.getConfiguration(GUARD_PID, "?");
        var guard = new Hashtable<String, Object>();
        guard.put("quarantine", false);
        guard.put("modelsWaitMillis", 100L);
        guardConfig.update(guard);
        awaitConfigured(GUARD_COMPONENT, GUARD_PID, p -> Boolean.FALSE.equals(p.get("quarantine")));
    }

    @AfterEach
    void tearDown() throws Exception {
        for (String tier : List.of("verified", "untrusted")) {
            var reset = admin(server.request("api/v1/admin/sandbox/policy/" + tier).DELETE());
            assertThat(reset.status()).as(reset.body()).isEqualTo(200);
        }
        for (Bundle b : probes) {
            if (b.getState() != Bundle.UNINSTALLED) {
                b.uninstall();
            }
        }
        // Uninstalling a plugin deactivates it, which lets its waiting calls go.
        for (String id : installed) {
            admin(server.request("api/v1/admin/plugins/" + id).DELETE());
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> Arrays.stream(context.getBundles()).noneMatch(
                b -> installed.stream().anyMatch(id -> b.getLocation().startsWith("parley-plugin:" + id + "@"))));
        clients.shutdownNow();
        assertThat(clients.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        guardConfig.delete();
        // The shipped policy's tiers are back in the guard and the hooks.
        awaitConfigured(GUARD_TIER_COMPONENT, "dev.parley.plugin.guard.tier~verified",
                p -> Long.valueOf(0).equals(p.get("callTimeoutMillis")));
        awaitConfigured(HOOKS_TIER_COMPONENT, "dev.parley.sandbox.hooks.tier~untrusted",
                p -> !Arrays.asList((String[]) p.get("publishers")).contains(publisher));
    }

    @Test
    void aChangeOfATiersCallTimeoutBoundsTheNextCallIntoARunningPluginOfTheTier() {
        String model = "slow-model-" + suffix;
        String pluginId = install("slow-stream", "slow-" + suffix, model);

        changeVerified(limits -> limits.put("callTimeoutMs", 1500));
        long t0 = System.nanoTime();
        var first = completion(model, "first");
        long firstMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(first.status()).as(first.body()).isEqualTo(504);
        assertThat(first.body()).contains("plugin " + pluginId).contains("did not return within 1500 ms");
        assertThat(firstMillis).as("waited the tier's bound").isGreaterThanOrEqualTo(1500);

        // The same running plugin, no reinstall: the next call has the new bound.
        changeVerified(limits -> limits.put("callTimeoutMs", 2500));
        t0 = System.nanoTime();
        var second = completion(model, "second");
        long secondMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(second.status()).as(second.body()).isEqualTo(504);
        assertThat(second.body()).contains("did not return within 2500 ms");
        assertThat(secondMillis).isGreaterThanOrEqualTo(2500);

        // A tier's bound above the guard's own (5 s) gives the guard's: the guard's setting is the ceiling.
        changeVerified(limits -> limits.put("callTimeoutMs", 600_000));
        var third = completion(model, "third");
        assertThat(third.status()).as(third.body()).isEqualTo(504);
        assertThat(third.body()).contains("did not return within 5000 ms");
        System.out.printf("tier call timeout: %d ms at 1500 ms, %d ms at 2500 ms%n", firstMillis, secondMillis);
    }

    @Test
    void aTiersCallsAtOnceBoundAPluginOfTheTierAndAChangeAppliesToTheNextCall() throws Exception {
        String model = "busy-model-" + suffix;
        String provider = "busy-" + suffix;
        String pluginId = install("slow-stream", provider, model);
        changeVerified(limits -> {
            limits.put("callTimeoutMs", 1000);
            limits.put("maxConcurrentCalls", 2);
        });
        ChatModelProvider plugin = providerService(provider);

        // Two calls wait in the plugin's code (each chat gives up after 1 s; the plugin's thread stays in it).
        List<CompletableFuture<Server.Reply>> waiting = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            String text = "waiting " + i;
            waiting.add(CompletableFuture.supplyAsync(() -> completion(model, text), clients));
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> inside(plugin) == 2);

        var refused = completion(model, "a third");
        assertThat(refused.status()).as(refused.body()).isIn(429, 503);
        assertThat(refused.body()).contains("plugin " + pluginId + " is busy: 2 calls into it are running");
        assertThat(inside(plugin)).isEqualTo(2);
        for (var w : waiting) {
            assertThat(w.get(30, TimeUnit.SECONDS).status()).isIn(429, 503, 504);
        }

        // Raised to 3 for the running plugin: the next call gets in.
        changeVerified(limits -> limits.put("maxConcurrentCalls", 3));
        var admitted = completion(model, "a third, again");
        assertThat(admitted.status()).as(admitted.body()).isEqualTo(504);
        assertThat(admitted.body()).contains("did not return within 1000 ms").doesNotContain("is busy");
        assertThat(inside(plugin)).isEqualTo(3);
        var refusedAgain = completion(model, "a fourth");
        assertThat(refusedAgain.body()).contains("is busy: 3 calls into it are running");
    }

    @Test
    void aTierWhoseImportsLeaveOutAPackageKeepsItsPluginsFromWiringToItNamingTheTier() throws Exception {
        // The publisher is in verified (*): its plugins may import org.osgi.framework.
        Bundle before = probe("before", "org.osgi.framework");
        before.start();
        assertThat(before.getState()).isEqualTo(Bundle.ACTIVE);

        // An admin moves the publisher to untrusted, whose imports are the API and SLF4J only.
        JsonNode policy = tier("untrusted");
        ((ArrayNode) policy.get("publishers")).add(publisher);
        put("untrusted", policy);
        awaitConfigured(HOOKS_TIER_COMPONENT, "dev.parley.sandbox.hooks.tier~untrusted",
                p -> Arrays.asList((String[]) p.get("publishers")).contains(publisher));

        Bundle after = probe("after", "org.osgi.framework");
        assertThatThrownBy(after::start).isInstanceOf(BundleException.class).hasMessageContaining("org.osgi.framework");
        assertThat(after.getState()).isEqualTo(Bundle.INSTALLED);
        assertThat(confinement.refusals(after)).containsExactly("may not import package org.osgi.framework: it is not "
                + "in the sandbox's allowed packages of tier untrusted");
        System.out.printf("tier imports: %s%n", confinement.refusals(after));

        // What the tier allows still wires.
        Bundle api = probe("api", "dev.parley.api.llm");
        api.start();
        assertThat(api.getState()).isEqualTo(Bundle.ACTIVE);
        // Wiring is decided at resolution: the plugin resolved before the change keeps its wiring until its next one.
        assertThat(before.getState()).isEqualTo(Bundle.ACTIVE);
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    /** Changes the verified tier's limits through the admin API and waits until the guard has the new ones. */
    private void changeVerified(java.util.function.Consumer<ObjectNode> change) {
        JsonNode policy = tier("verified");
        change.accept((ObjectNode) policy.get("limits"));
        put("verified", policy);
        long timeout = policy.at("/limits/callTimeoutMs").asLong();
        int max = policy.at("/limits/maxConcurrentCalls").asInt();
        awaitConfigured(GUARD_TIER_COMPONENT, "dev.parley.plugin.guard.tier~verified",
                p -> Long.valueOf(timeout).equals(p.get("callTimeoutMillis"))
                        && Integer.valueOf(max).equals(p.get("maxConcurrentCalls")));
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

    /** Until the active component configuration of {@code pid} has properties that pass {@code test}. */
    private void awaitConfigured(String component, String pid, Predicate<Map<String, Object>> test) {
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs()) {
                if (!d.name.equals(component)) {
                    continue;
                }
                for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                    if (c.state == ComponentConfigurationDTO.ACTIVE && pid.equals(c.properties.get("service.pid"))
                            && test.test(c.properties)) {
                        return true;
                    }
                }
            }
            return false;
        });
    }

    /** Publishes and installs a guard test plugin of this test's publisher (tier verified); returns its id. */
    private String install(String mode, String providerId, String models) {
        String pluginId = "tier." + mode + "." + suffix;
        byte[] jar = GuardPluginJars.provider(pluginId, "1.0.0", publisher, mode, providerId, models);
        var published = server.publish(jar, Signatures.sign(jar, privateKey));
        assertThat(published.status()).as(published.body()).isEqualTo(201);
        var r = admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        installed.add(pluginId);
        await().atMost(Duration.ofSeconds(20)).until(() -> server.get("api/v1/models").body().contains(models));
        return pluginId;
    }

    private ChatModelProvider providerService(String providerId) throws Exception {
        return await().atMost(Duration.ofSeconds(20)).until(() -> {
            var refs = context.getServiceReferences(ChatModelProvider.class, "(parley.provider.id=" + providerId + ")");
            ServiceReference<ChatModelProvider> ref = refs.isEmpty() ? null : refs.iterator().next();
            return ref == null ? null : context.getService(ref);
        }, p -> p != null);
    }

    /** The calls waiting in the test plugin's code ({@code GuardTestProvider.inside()}, in the plugin's class). */
    private static int inside(ChatModelProvider plugin) throws Exception {
        return (int) plugin.getClass().getMethod("inside").invoke(plugin);
    }

    /** A bundle confined as a plugin of this test's publisher by its header, importing {@code imports}. */
    private Bundle probe(String name, String imports) throws BundleException {
        String id = "tier.probe." + name + "." + suffix;
        Bundle b = context.installBundle("itest:tier:" + id, new ByteArrayInputStream(SandboxTest.jar(id,
                "Parley-Plugin", id + ";type=provider;publisher=" + publisher, "Import-Package", imports)));
        probes.add(b);
        assertThat(confinement.confined(b)).isTrue();
        return b;
    }

    private Server.Reply completion(String model, String text) {
        return server.post("v1/chat/completions", "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"" + text + "\"}]}");
    }

    private Server.Reply admin(HttpRequest.Builder request) {
        return server.admin(request, adminToken);
    }
}
