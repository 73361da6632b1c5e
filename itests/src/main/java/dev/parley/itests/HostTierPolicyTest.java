package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.itests.oop.HostedPluginJars;
import dev.parley.itests.oop.HostedPlugins;
import dev.parley.itests.oop.HostedPlugins.Recorder;
import dev.parley.pluginhost.HostLimits;
import dev.parley.pluginhost.HostStatus;
import dev.parley.pluginhost.PluginHosts;
import dev.parley.registry.Signatures;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
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
 * A plugin run out of process is confined in its host by its tier's policy, not by the sandbox hooks' defaults (ADR 31,
 * ADR 33): the server carries the sandbox's tier configurations to the host, whose agent starts the plugin only once
 * its hooks applied them. An admin changes the untrusted tier through the audited admin API, as in
 * {@link TierPolicyTest}; the plugins run in real plugin-host JVMs.
 */
class HostTierPolicyTest {
    static final String HOOKS_TIER_COMPONENT = "dev.parley.sandbox.hooks.internal.SandboxTier";
    static final String UNTRUSTED = "dev.parley.sandbox.hooks.tier~untrusted";
    static final String HOOKS_PID = "dev.parley.sandbox.hooks";
    static final String HOOKS_COMPONENT = "dev.parley.sandbox.hooks.internal.SandboxSettings";
    /** The hooks' defaults and the verified tier allow it; the untrusted tier's imports do not. */
    static final String OSGI_FRAMEWORK = ",org.osgi.framework;version=\"[1.10,2)\"";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    PluginHosts hosts;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 20_000)
    ServiceComponentRuntime scr;

    @InjectService(timeout = 20_000)
    ConfigurationAdmin configAdmin;

    Server server;
    String adminToken;
    String suffix;
    String publisher;
    HostedPlugins hosted;

    @BeforeEach
    void setUp() throws Exception {
        server = new Server(http.getServiceReference());
        adminToken = Server.adminToken(context);
        suffix = UUID.randomUUID().toString().substring(0, 8);
        publisher = "hosttier-" + suffix;
        hosted = new HostedPlugins(context, hosts, suffix);
    }

    @AfterEach
    void tearDown() throws Exception {
        hosted.close();
        var reset = admin(server.request("api/v1/admin/sandbox/policy/untrusted").DELETE());
        assertThat(reset.status()).as(reset.body()).isEqualTo(200);
        awaitConfigured(p -> !publishers(p).contains(publisher) && "refuse".equals(p.get("enforce")));
    }

    @Test
    void aPluginOfTheUntrustedTierResolvesInItsHostUnderTheTiersImportsWithTheReasonForTheAdmin() throws Exception {
        changeUntrusted(policy -> ((ArrayNode) policy.get("publishers")).add(publisher));
        awaitConfigured(p -> publishers(p).contains(publisher));

        // The same imports from a publisher no tier names (verified, by *): the package is there to wire to.
        String control = "control-" + suffix;
        Bundle verified = hosted.runOutOfProcess(HostedPluginJars.inline("hosttier.control." + suffix,
                "other-" + suffix, control, control + "-model", OSGI_FRAMEWORK), HostLimits.UNTRUSTED_DEFAULTS);
        // In the untrusted tier, it may not.
        Bundle outside = hosted.runOutOfProcess(HostedPluginJars.inline("hosttier.osgi." + suffix, publisher,
                "osgi-" + suffix, "osgi-" + suffix + "-model", OSGI_FRAMEWORK), HostLimits.UNTRUSTED_DEFAULTS);
        // Within the tier's imports: it runs.
        String within = "within-" + suffix;
        Bundle inside = hosted.runOutOfProcess(HostedPluginJars.inline("hosttier.api." + suffix, publisher, within,
                within + "-model"), HostLimits.UNTRUSTED_DEFAULTS);

        HostStatus failed = await().atMost(Duration.ofSeconds(60))
                .until(() -> hosts.host(outside.getBundleId()).orElse(null), h -> h != null && h.plugin() != null
                        && !"waiting".equals(h.plugin()));
        assertThat(failed.plugin()).as("%s", failed).isEqualTo("failed");
        assertThat(failed.state()).as("the host itself runs").isEqualTo("running");
        assertThat(failed.providers()).isEmpty();
        assertThat(failed.pluginError()).contains("org.osgi.framework");
        assertThat(failed.refusals()).containsExactly("may not import package org.osgi.framework: it is not in the "
                + "sandbox's allowed packages of tier untrusted");

        hosted.awaitRunning(inside, within);
        Object answer = chat(hosted.proxy(within), within + "-model", "hello");
        assertThat(answer).as("%s", answer).isInstanceOf(ChatResponse.class);
        assertThat(((ChatResponse) answer).text()).isEqualTo("[inline] hello");
        HostStatus running = hosts.host(inside.getBundleId()).orElseThrow();
        assertThat(running.plugin()).isEqualTo("active");
        assertThat(running.refusals()).isEmpty();

        hosted.awaitRunning(verified, control);
        assertThat(hosts.host(verified.getBundleId()).orElseThrow().plugin()).isEqualTo("active");
        System.out.printf("host tier imports: %s / %s%n", failed.pluginError(), failed.refusals());
    }

    @Test
    void aTierThatOnlyReportsReachesTheHostAndTurnsARunTimeRefusalThereIntoAReport() throws Exception {
        changeUntrusted(policy -> ((ArrayNode) policy.get("publishers")).add(publisher));
        awaitConfigured(p -> publishers(p).contains(publisher));
        String provider = "env-" + suffix;
        Bundle standIn = hosted.runOutOfProcess(HostedPluginJars.env("hosttier.env." + suffix, publisher,
                provider, provider + "-model"), HostLimits.UNTRUSTED_DEFAULTS);
        hosted.awaitRunning(standIn, provider);
        ChatModelProvider proxy = hosted.proxy(provider);

        // untrusted refuses: the plugin's read of the environment gets nothing in its host.
        Object refused = chat(proxy, provider + "-model", "env");
        assertThat(refused).as("%s", refused).isInstanceOf(ChatResponse.class);
        assertThat(((ChatResponse) refused).text()).isEqualTo("[env] no environment");
        HostStatus afterRefusal = await().atMost(Duration.ofSeconds(20)).until(
                () -> hosts.host(standIn.getBundleId()).orElseThrow(),
                h -> Long.valueOf(1).equals(h.refusedCalls().get("environment")));
        assertThat(afterRefusal.refusals()).anySatisfy(r -> assertThat(r).contains("refused plugin hosttier.env."
                + suffix + " (rule environment)"));

        // The admin makes the tier report only: the change reaches the running host, and its next calls run.
        changeUntrusted(policy -> ((ObjectNode) policy.get("runtime")).put("enforce", "report"));
        awaitConfigured(p -> "report".equals(p.get("enforce")) && publishers(p).contains(publisher));
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(chat(proxy, provider + "-model", "env"))
                .isInstanceOf(ChatResponse.class).extracting(r -> ((ChatResponse) r).text())
                .isEqualTo("[env] environment read"));
        await().atMost(Duration.ofSeconds(20)).until(() -> hosts.host(standIn.getBundleId()).orElseThrow(),
                h -> h.refusedCalls().getOrDefault("environment", 0L) >= 2);

        // A host started while the tier reports has it before its plugin starts: its first such call runs.
        String second = "env2-" + suffix;
        Bundle next = hosted.runOutOfProcess(HostedPluginJars.env("hosttier.env2." + suffix, publisher, second,
                second + "-model"), HostLimits.UNTRUSTED_DEFAULTS);
        hosted.awaitRunning(next, second);
        Object first = chat(hosted.proxy(second), second + "-model", "env");
        assertThat(first).as("%s", first).isInstanceOf(ChatResponse.class);
        assertThat(((ChatResponse) first).text()).isEqualTo("[env] environment read");
        HostStatus reported = await().atMost(Duration.ofSeconds(20)).until(
                () -> hosts.host(next.getBundleId()).orElseThrow(),
                h -> Long.valueOf(1).equals(h.refusedCalls().get("environment")));
        assertThat(reported.refusals()).anySatisfy(r -> assertThat(r).contains("reported plugin hosttier.env2."
                + suffix + " (rule environment)"));
        System.out.printf("host tier enforce: %s%n", reported.refusals());
    }

    @Test
    void anInstallWhosePluginTheHostsHooksRefuseIsRefusedWithTheSandboxsReasonAndLeavesNothing() throws Exception {
        // Admission and the server's hooks let the plugin and its stand-in through; in the host, the hooks' own PID
        // (which every policy tier narrows) leaves out SLF4J, which the plugin imports. The stand-in imports only the
        // API, so the server's framework resolves it; only the host's hooks refuse the plugin.
        String[] keys = Signatures.generateKeyPair();
        var added = admin(server.jsonPost("api/v1/admin/registry/publishers", "{\"id\":\"" + publisher
                + "\",\"publicKey\":\"" + keys[0] + "\"}"));
        assertThat(added.status()).as(added.body()).isIn(200, 201);
        String pluginId = "hosttier.gate." + suffix;
        byte[] jar = HostedPluginJars.inline(pluginId, publisher, "gate-" + suffix, "gate-" + suffix + "-model");
        var published = server.publish(jar, Signatures.sign(jar, keys[1]));
        assertThat(published.status()).as(published.body()).isEqualTo(201);
        changeUntrusted(policy -> ((ArrayNode) policy.get("publishers")).add(publisher));
        awaitConfigured(p -> publishers(p).contains(publisher));

        Configuration hooks = configAdmin.getConfiguration(HOOKS_PID, "?");
        Dictionary<String, Object> before = hooks.getProperties();
        try {
            Hashtable<String, Object> noSlf4j = new Hashtable<>();
            noSlf4j.put("allowedPackages", new String[] {"dev.parley.api.*", "org.osgi.framework",
                "org.osgi.service.component", "org.osgi.service.log", "java.*"});
            hooks.update(noSlf4j);
            awaitComponent(HOOKS_COMPONENT, p -> p.get("allowedPackages") instanceof String[] a
                    && !Arrays.asList(a).contains("org.slf4j.*"));

            var install = admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"));
            assertThat(install.status()).as(install.body()).isEqualTo(422);
            assertThat(install.body()).contains("it did not start in its plugin host")
                    .contains("may not import package org.slf4j: it is not in the sandbox's allowed packages of tier "
                            + "untrusted");
            assertThat(context.getBundle("parley-plugin:" + pluginId + "@1.0.0")).as("rolled back").isNull();
            System.out.printf("host refusal at install: %s%n", install.body());
        } finally {
            if (before == null) {
                hooks.delete();
            } else {
                hooks.update(before);
            }
            // Back to the configuration before (none: the component's own defaults, without a service.pid).
            awaitComponent(HOOKS_COMPONENT, p -> before == null ? p.get("service.pid") == null
                    : Arrays.equals((String[]) before.get("allowedPackages"), (String[]) p.get("allowedPackages")));
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    /** One chat through the stand-in's proxy: its response, or the error it ended with. */
    private static Object chat(ChatModelProvider proxy, String model, String text) throws Exception {
        Recorder r = new Recorder();
        proxy.stream(new ChatRequest(model, List.of(ChatMessage.user(text)), new ChatOptions(null, null, 16,
                List.of()), List.of()), r);
        return r.ended.get(20, TimeUnit.SECONDS);
    }

    private void changeUntrusted(Consumer<JsonNode> change) {
        var got = admin(server.request("api/v1/admin/sandbox/policy/untrusted").GET());
        assertThat(got.status()).as(got.body()).isEqualTo(200);
        JsonNode policy = got.json().get("policy");
        change.accept(policy);
        var put = admin(server.request("api/v1/admin/sandbox/policy/untrusted")
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(policy.toString())));
        assertThat(put.status()).as(put.body()).isEqualTo(200);
    }

    private static List<String> publishers(Map<String, Object> properties) {
        return Arrays.asList((String[]) properties.get("publishers"));
    }

    /** Until the server's hooks have the untrusted tier's configuration with properties that pass {@code test}. */
    private void awaitConfigured(Predicate<Map<String, Object>> test) {
        awaitComponent(HOOKS_TIER_COMPONENT, p -> UNTRUSTED.equals(p.get("service.pid")) && test.test(p));
    }

    /** Until an active configuration of {@code component} has properties that pass {@code test}. */
    private void awaitComponent(String component, Predicate<Map<String, Object>> test) {
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs()) {
                if (!d.name.equals(component)) {
                    continue;
                }
                for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                    if (c.state == ComponentConfigurationDTO.ACTIVE && test.test(c.properties)) {
                        return true;
                    }
                }
            }
            return false;
        });
    }

    private Server.Reply admin(HttpRequest.Builder request) {
        return server.admin(request, adminToken);
    }
}
