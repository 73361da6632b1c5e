package dev.parley.itests.hostile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.itests.Server;
import dev.parley.itests.guard.GuardPluginJars;
import dev.parley.itests.hostile.attacks.AdminApiCaller;
import dev.parley.itests.hostile.attacks.AdminTokenReader;
import dev.parley.itests.hostile.attacks.BundleKillerProvider;
import dev.parley.itests.hostile.attacks.BundleUninstaller;
import dev.parley.itests.hostile.attacks.ConfigDirReader;
import dev.parley.itests.hostile.attacks.CoreReflection;
import dev.parley.itests.hostile.attacks.EnvReader;
import dev.parley.itests.hostile.attacks.HaltLater;
import dev.parley.itests.hostile.attacks.ProcEnvironReader;
import dev.parley.itests.hostile.attacks.ProcessExec;
import dev.parley.itests.hostile.attacks.ThreadBomb;
import dev.parley.itests.hostile.attacks.UndeclaredHostConnector;
import dev.parley.registry.Signatures;
import dev.parley.testsupport.plugins.ExitingComponent;
import dev.parley.testsupport.plugins.TestPluginJars;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * The hostile-plugin suite (issue 11): plugins that each try one attack, published to the registry and installed
 * through the admin API like any third party's, while a steady chat load runs on another provider (the shipped
 * OpenAI-compatible plugin against a local server of its wire protocol). Each test shows the attack refused at
 * admission (the refusal names the rule, the class and the method) or contained at run time (the guard's timeout and
 * quarantine, the router's answer bound, the framework hooks, the provider id's owner), and that every chat of the
 * load succeeded meanwhile. The figures go to {@code itests/target/hostile-results.json}, from which the table in
 * {@code docs/sandbox.md} is written.
 */
class HostilePluginsTest {
    static final String LOAD_MODEL = HostileLoad.LOAD_MODEL;
    static final String GUARD_PID = "dev.parley.plugin.guard";

    @InjectBundleContext
    static BundleContext context;

    @InjectService(timeout = 20_000)
    static ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 20_000)
    static ConfigurationAdmin configAdmin;

    static Server server;
    static String adminToken;
    static HostileLoad load;
    static HostileResults results;
    static Configuration guardConfig;

    String suffix;
    String publisher;
    String privateKey;
    final List<String> installed = new ArrayList<>();

    @BeforeAll
    static void startTheOtherProvider() throws Exception {
        server = new Server(http.getServiceReference());
        adminToken = Server.adminToken(context);
        load = HostileLoad.start(context, configAdmin, server);
        results = load.results;
        // A call stuck for 3 s (not 30) quarantines its plugin, so that a test waits seconds, not minutes. The call
        // timeout stays the default (5 s): the memory bomb's full collections pause every thread, the load's calls
        // into the other provider too, and a tighter timeout than the product's would fail them for the test's sake.
        guardConfig = configAdmin.getConfiguration(GUARD_PID, "?");
        var guard = new Hashtable<String, Object>();
        guard.put("modelsWaitMillis", 100L);
        guard.put("quarantineStuckSeconds", 3);
        guardConfig.update(guard);
    }

    @AfterAll
    static void stopTheOtherProviderAndWriteTheResults() throws Exception {
        try {
            guardConfig.delete();
        } finally {
            load.close();
        }
    }

    @BeforeEach
    void setUp() {
        suffix = UUID.randomUUID().toString().substring(0, 8);
        publisher = "hostile-" + suffix;
        String[] keys = Signatures.generateKeyPair();
        privateKey = keys[1];
        var added = admin(server.jsonPost("api/v1/admin/registry/publishers",
                "{\"id\":\"" + publisher + "\",\"publicKey\":\"" + keys[0] + "\"}"));
        assertThat(added.status()).as(added.body()).isIn(200, 201);
    }

    @AfterEach
    void tearDown() {
        for (String id : installed) {
            admin(server.request("api/v1/admin/plugins/" + id).DELETE());
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> Arrays.stream(context.getBundles()).noneMatch(b ->
                installed.stream().anyMatch(id -> b.getLocation().startsWith("parley-plugin:" + id + "@"))));
    }

    // ---- refused at admission ---------------------------------------------------------------------------------

    static Stream<Arguments> refusedAtAdmission() {
        return Stream.of(
                Arguments.of("System.exit at activate", ExitingComponent.class, "exit", "activate()",
                        "java.lang.System.exit(int)"),
                Arguments.of("Runtime.halt later (on first use)", HaltLater.class, "exit", "run()",
                        "java.lang.Runtime.halt(int)"),
                Arguments.of("process exec", ProcessExec.class, "process", "activate()", "java.lang.ProcessBuilder"),
                Arguments.of("read the admin token file", AdminTokenReader.class, "file", "activate()",
                        "java.nio.file."),
                Arguments.of("list the config directory", ConfigDirReader.class, "file", "activate()",
                        "java.io.File"),
                Arguments.of("read /proc/self/environ", ProcEnvironReader.class, "file", "activate()",
                        "java.io.FileInputStream"),
                Arguments.of("System.getenv", EnvReader.class, "environment", "activate()",
                        "java.lang.System.getenv()"),
                Arguments.of("connect to an undeclared host", UndeclaredHostConnector.class, "network", "activate()",
                        "java.net.Socket"),
                Arguments.of("call Parley's own admin API", AdminApiCaller.class, "network", "activate()",
                        "java.net.http.HttpClient"),
                Arguments.of("reflection into core internals", CoreReflection.class, "reflection", "activate()",
                        "setAccessible"),
                Arguments.of("uninstall other bundles via FrameworkUtil", BundleUninstaller.class, "framework",
                        "activate()", "org.osgi.framework."),
                Arguments.of("thread bomb", ThreadBomb.class, "thread", "activate()", "java.lang.Thread"));
    }

    /**
     * In the verified tier (every publisher an admin added), a plugin whose code uses what its declared permissions do
     * not cover is refused before anything is installed: the problem, the plugin's events and the audit trail name the
     * rule, the class, the method and what it uses.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("refusedAtAdmission")
    void refusedAtAdmissionNamingTheRule(String attack, Class<?> component, String rule, String method,
            String uses) throws Exception {
        String pluginId = "hostile." + rule + "." + suffix;
        byte[] jar = TestPluginJars.withComponent(pluginId, "1.0.0", publisher, "dev.parley.test.hostile." + rule,
                component, attack, Map.of());
        publish(jar);

        String[] refusal = new String[1];
        var load = underLoad(() -> {
            var plan = admin(server.jsonPost("api/v1/admin/plugins/dry-run", "{\"id\":\"" + pluginId + "\"}"));
            assertThat(plan.json().get("compatible").asBoolean()).as(plan.body()).isFalse();
            assertThat(plan.json().get("tier").asText()).isEqualTo("verified");
            var install = admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"));
            installed.add(pluginId);
            assertThat(install.status()).as(install.body()).isEqualTo(422);
            refusal[0] = install.json().get("detail").asText();
        });

        assertThat(refusal[0]).contains("refused at admission (tier verified)").contains("rule " + rule)
                .contains(component.getName() + "." + method).contains(uses).contains("nothing was installed");
        assertThat(pluginBundles(pluginId)).isEmpty();
        assertThat(events(pluginId)).anySatisfy(e -> {
            assertThat(e.get("action").asText() + ":" + e.get("outcome").asText()).isEqualTo("install:refused");
            assertThat(e.get("detail").asText()).contains("rule " + rule);
        });
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(audit("plugin.admission", pluginId))
                .anySatisfy(a -> {
                    assertThat(a.get("outcome").asText()).isEqualTo("DENIED");
                    assertThat(a.at("/detail/rule").asText()).isEqualTo(rule);
                    assertThat(a.at("/detail/class").asText()).isEqualTo(component.getName());
                }));
        results.record(attack, "verified", "admission: bytecode scan, rule " + rule,
                "422 at dry-run and install; event install:refused; audit plugin.admission DENIED: "
                        + refusal[0].substring(refusal[0].indexOf("rule " + rule)), load);
    }

    /**
     * The untrusted tier grants no {@code thread} permission at all: a thread bomb that declares it is refused for
     * the permission, before its code is read.
     */
    @Test
    void aThreadBombDeclaringThreadsIsRefusedInTheUntrustedTier() throws Exception {
        String pluginId = "hostile.threads." + suffix;
        byte[] jar = TestPluginJars.withComponent(pluginId, "1.0.0", publisher, "dev.parley.test.hostile.threads",
                ThreadBomb.class, "Thread bomb", Map.of("Parley-Permissions", "thread;target=1000"));
        publish(jar);
        String[] refusal = new String[1];
        var load = inTier("untrusted", () -> underLoad(() -> {
            var install = admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"));
            installed.add(pluginId);
            assertThat(install.status()).as(install.body()).isEqualTo(422);
            refusal[0] = install.json().get("detail").asText();
        }));

        assertThat(refusal[0]).contains("tier untrusted").contains("thread");
        assertThat(pluginBundles(pluginId)).isEmpty();
        results.record("thread bomb declaring thread permission", "untrusted", "admission: permission kind not "
                + "grantable in the tier", "422 at install: " + refusal[0], load);
    }

    // ---- contained at run time --------------------------------------------------------------------------------

    /** An endless loop on the calling thread: the chat that needed it times out; the stuck call quarantines it. */
    @Test
    void anEndlessLoopOnTheCallingThreadTimesOutAndIsQuarantined() throws Exception {
        String pluginId = install("spin-stream");
        String[] reason = new String[1];
        var load = underLoad(() -> {
            var r = completion("spin-model-" + suffix, "spin");
            assertThat(r.status()).as(r.body()).isEqualTo(504);
            assertThat(r.body()).contains("upstream_timeout").contains("did not return within 5000 ms");
            reason[0] = awaitState(pluginId, "quarantined").at("/thisNode/error").asText();
        });
        assertThat(reason[0]).contains("has not returned");
        assertThat(modelIds()).doesNotContain("spin-model-" + suffix);
        results.record("endless loop on the calling thread", "verified", "guard: call timeout (the chat), then "
                + "quarantine (a call stuck past quarantineStuckSeconds)", "plugin state quarantined: " + reason[0],
                load);
    }

    /** Two answers that deadlock each other: both time out, the stuck calls quarantine the plugin. */
    @Test
    void aDeadlockTimesOutAndIsQuarantined() throws Exception {
        String pluginId = install("deadlock-stream");
        String[] reason = new String[1];
        var load = underLoad(() -> {
            ExecutorService two = Executors.newFixedThreadPool(2);
            try {
                Callable<Server.Reply> chat = () -> completion("deadlock-model-" + suffix, "lock");
                List<Future<Server.Reply>> replies = two.invokeAll(List.of(chat, chat));
                // The first call to time out is stuck past quarantineStuckSeconds by then, so the plugin is
                // quarantined at once; the other call, still within its own timeout unless both started in the
                // same instant, is told of the quarantine (never what the plugin's code makes of the interrupt).
                int timedOut = 0;
                for (Future<Server.Reply> f : replies) {
                    var r = f.get();
                    if (r.status() == 504) {
                        assertThat(r.body()).contains("upstream_timeout").contains("did not return within 5000 ms");
                        timedOut++;
                    } else {
                        assertThat(r.status()).as(r.body()).isEqualTo(502);
                        assertThat(r.body()).contains("was quarantined on this node while complete() ran")
                                .doesNotContain("the deadlock was broken by an interrupt");
                    }
                }
                assertThat(timedOut).isPositive();
            } finally {
                two.shutdownNow();
            }
            reason[0] = awaitState(pluginId, "quarantined").at("/thisNode/error").asText();
        });
        assertThat(reason[0]).contains("has not returned");
        results.record("deadlock", "verified", "guard: call timeout (the chats), then quarantine (calls stuck past "
                + "quarantineStuckSeconds); the quarantine interrupts its threads", "plugin state quarantined: "
                + reason[0], load);
    }

    /** Every answer throws: each costs only its own chat; the failure rate quarantines the plugin. */
    @Test
    void anExceptionStormIsQuarantined() throws Exception {
        String pluginId = install("throw-stream");
        String[] reason = new String[1];
        var load = underLoad(() -> reason[0] = chatUntilQuarantined(pluginId, "throw-model-" + suffix, 502, 503));
        assertThat(reason[0]).contains("threw java.lang.IllegalStateException");
        var direct = completion("throw-model-" + suffix, "after");
        assertThat(direct.status()).as(direct.body()).isIn(404, 502);
        results.record("exception storm", "verified", "guard: exception isolation per call, then quarantine (failure "
                + "rate)", "plugin state quarantined: " + reason[0], load);
    }

    /**
     * One allocation larger than the whole heap: the {@code OutOfMemoryError} ends only that call; a plugin that keeps
     * doing it is quarantined. (A bomb that keeps what it allocates in small steps fills the shared heap: that needs
     * the out-of-process tier.)
     */
    @Test
    void anAllocationLargerThanTheHeapCostsOnlyItsOwnCallsAndIsQuarantined() throws Exception {
        String pluginId = install("oom-stream");
        String[] reason = new String[1];
        // Each chat gets the error, or the call timeout when the JVM's attempt to find the memory (a full collection)
        // outlasts it: either way that call alone fails.
        var load = underLoad(() -> reason[0] = chatUntilQuarantined(pluginId, "oom-model-" + suffix, 502, 503, 504));
        assertThat(reason[0]).containsAnyOf("threw java.lang.OutOfMemoryError", "did not return within 5000 ms");
        results.record("memory bomb (one allocation larger than the heap)", "verified", "guard: exception isolation "
                + "(the OutOfMemoryError, or the call timeout while the JVM looks for the memory, ends the call), then "
                + "quarantine", "plugin state quarantined: " + reason[0], load);
    }

    /** An answer of 64 MiB: cut off at the router's bound with a clear error, the provider told to stop. */
    @Test
    void aHugeResponseIsCutOffAtTheAnswerBound() throws Exception {
        install("flood-stream");
        String[] error = new String[1];
        var load = underLoad(() -> {
            var r = completion("flood-model-" + suffix, "flood");
            assertThat(r.status()).as(r.body()).isEqualTo(502);
            assertThat(r.body()).contains("upstream_protocol").contains("longer than 2000000 characters")
                    .contains("maxAnswerChars of dev.parley.router");
            error[0] = r.json().toString();
        });
        results.record("huge response (64 MiB answer)", "verified", "router: maxAnswerChars (2,000,000 characters) "
                + "cuts the answer off and cancels the stream", "the chat's error: upstream-protocol, "
                + error[0].replaceAll(".*(provider [^\"]*cut off).*", "$1") + "; WARN event=answer_too_long", load);
    }

    /**
     * A plugin registering a provider under the id another plugin holds ({@code openai}, the load's provider) takes
     * none of its chats; the admin sees it refused.
     */
    @Test
    void aProviderRegisteredUnderAnotherPluginsIdTakesNoneOfItsTraffic() throws Exception {
        String pluginId = "hostile.hijack." + suffix;
        publish(GuardPluginJars.provider(pluginId, "9.9.9", publisher, "ok", "openai", LOAD_MODEL));
        String[] refused = new String[1];
        var load = underLoad(() -> {
            var r = admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"));
            installed.add(pluginId);
            assertThat(r.status()).as(r.body()).isEqualTo(201);
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                JsonNode openai = provider("openai");
                assertThat(openai.get("refusedPlugins").toString()).contains(pluginId);
                refused[0] = openai.toString();
            });
        });
        // Every chat was answered by the real provider ("echo: ...", checked by the load), none by the squatter.
        assertThat(provider("openai").get("plugin").asText()).isNotEqualTo(pluginId);
        results.record("register a provider to hijack another plugin's model", "verified", "router: the provider id "
                + "belongs to the plugin that registered it first (provider_id_taken)", "GET /api/v1/admin/models: "
                + "provider openai, refusedPlugins [" + pluginId + "]; ERROR provider_id_taken", load);
    }

    /** A plugin whose component throws at every activation: the install fails and leaves nothing behind. */
    @Test
    void aCrashAtEveryActivateLeavesNothingInstalled() throws Exception {
        String pluginId = "hostile.crash." + suffix;
        publish(TestPluginJars.throwingOnActivate(pluginId, "1.0.0", publisher));
        String[] detail = new String[1];
        var load = underLoad(() -> {
            var r = admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"));
            installed.add(pluginId);
            assertThat(r.status()).as(r.body()).isEqualTo(422);
            detail[0] = r.json().get("detail").asText();
        });
        assertThat(detail[0]).contains("failed to activate: java.lang.IllegalStateException: this plugin version "
                + "cannot start: boom in activate").as("a reason, not a stack trace").doesNotContain("\tat ");
        assertThat(pluginBundles(pluginId)).isEmpty();
        JsonNode event = events(pluginId).stream().filter(e -> e.get("detail").asText().contains("boom in activate"))
                .findFirst().orElseThrow(() -> new AssertionError("no event with the reason"));
        results.record("crash at every activate", "verified", "plugin runtime: the failed start is not committed "
                + "(and a plugin whose starts keep failing or ending the process is held as crash-loop after "
                + "maxFailedStarts)", "422 at install: " + detail[0] + "; event " + event.get("action").asText() + ":"
                + event.get("outcome").asText(), load);
    }

    /**
     * In the trusted tier (where the scan only reports), a plugin that tries to stop and uninstall every bundle
     * through its own bundle context finds only itself: the framework hooks hide every other bundle.
     */
    @Test
    void aTrustedPluginCannotStopOrUninstallAnotherBundleThroughItsContext() throws Exception {
        String pluginId = "hostile.bundles." + suffix;
        publish(GuardPluginJars.provider(BundleKillerProvider.class, ",org.osgi.framework;version=\"[1.10,2)\"",
                pluginId, "1.0.0", publisher, "ok", "killer-" + suffix, "killer-model-" + suffix));
        List<String> activeBefore = activeBundles();
        String[] report = new String[1];
        var load = inTier("trusted", () -> underLoad(() -> {
            var plan = admin(server.jsonPost("api/v1/admin/plugins/dry-run", "{\"id\":\"" + pluginId + "\"}"));
            assertThat(plan.json().get("tier").asText()).as(plan.body()).isEqualTo("trusted");
            assertThat(plan.json().at("/admission/reportedCount").toString()).contains("framework");
            var r = admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"));
            installed.add(pluginId);
            assertThat(r.status()).as(r.body()).isEqualTo(201);
            await().atMost(Duration.ofSeconds(20)).until(() -> modelIds().contains("killer-model-" + suffix));
            var answer = completion("killer-model-" + suffix, "what did you do");
            assertThat(answer.status()).as(answer.body()).isEqualTo(200);
            report[0] = answer.json().at("/choices/0/message/content").asText();
        }));
        assertThat(report[0]).startsWith("found 0 other bundles, stopped 0, uninstalled 0");
        assertThat(activeBundles()).containsAll(activeBefore);
        results.record("stop or uninstall other bundles through its bundle context", "trusted", "framework hooks: "
                + "its context lists and gets only its own bundle", "the plugin's own report: " + report[0]
                + "; every other bundle still active", load);
    }

    // ---- the fixture -------------------------------------------------------------------------------------------

    /** Runs {@code attack} while the chat load runs on the other provider; every chat of the load must succeed. */
    ChatLoad.Figures underLoad(HostileLoad.ThrowingRunnable attack) throws Exception {
        return load.underLoad(attack);
    }

    /**
     * Chats with {@code model} (each chat failing with one of {@code statuses}) until its plugin is quarantined, six
     * chats at most; returns the quarantine's reason.
     */
    String chatUntilQuarantined(String pluginId, String model, Integer... statuses) {
        for (int i = 0; i < 6 && !"quarantined".equals(state(pluginId).at("/thisNode/state").asText()); i++) {
            var r = completion(model, "attempt " + i);
            assertThat(r.status()).as(r.body()).isIn((Object[]) statuses);
        }
        return awaitState(pluginId, "quarantined").at("/thisNode/error").asText();
    }

    /** Runs {@code body} with this test's publisher named in {@code tier}; the tier's shipped policy comes back after. */
    <T> T inTier(String tier, Callable<T> body) throws Exception {
        JsonNode policy = admin(server.request("api/v1/admin/sandbox/policy/" + tier).GET()).json().get("policy");
        List<String> publishers = new ArrayList<>();
        policy.get("publishers").forEach(p -> publishers.add("\"" + p.asText() + "\""));
        publishers.add("\"" + publisher + "\"");
        String named = policy.toString().replaceFirst("\"publishers\":\\[[^\\]]*\\]",
                "\"publishers\":[" + String.join(",", publishers) + "]");
        var changed = admin(server.request("api/v1/admin/sandbox/policy/" + tier)
                .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(named)));
        assertThat(changed.status()).as(changed.body()).isEqualTo(200);
        try {
            return body.call();
        } finally {
            admin(server.request("api/v1/admin/sandbox/policy/" + tier).DELETE());
        }
    }

    /** Publishes and installs a guard test provider plugin misbehaving as {@code mode}; returns its plugin id. */
    String install(String mode) {
        String pluginId = "hostile." + mode + "." + suffix;
        String prefix = mode.substring(0, mode.indexOf('-'));
        publish(GuardPluginJars.provider(pluginId, "1.0.0", publisher, mode, prefix + "-" + suffix,
                prefix + "-model-" + suffix));
        var r = admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        installed.add(pluginId);
        await().atMost(Duration.ofSeconds(20)).until(() -> modelIds().contains(prefix + "-model-" + suffix));
        return pluginId;
    }

    void publish(byte[] artifact) {
        var r = server.publish(artifact, Signatures.sign(artifact, privateKey));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
    }

    JsonNode state(String pluginId) {
        return admin(server.request("api/v1/admin/plugins/" + pluginId).GET()).json();
    }

    JsonNode awaitState(String pluginId, String state) {
        JsonNode[] last = new JsonNode[1];
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            last[0] = state(pluginId);
            return state.equals(last[0].at("/thisNode/state").asText());
        });
        return last[0];
    }

    List<JsonNode> events(String pluginId) {
        var out = new ArrayList<JsonNode>();
        admin(server.request("api/v1/admin/plugins/" + pluginId + "/events").GET()).json().get("events")
                .forEach(out::add);
        return out;
    }

    /** The audit trail's rows of {@code action} on the plugin, newest first. */
    List<JsonNode> audit(String action, String pluginId) {
        var rows = new ArrayList<JsonNode>();
        admin(server.request("api/v1/admin/audit?action=" + action + "&limit=100").GET()).json().get("events")
                .forEach(e -> {
                    if (("plugin:" + pluginId).equals(e.get("target").asText())) {
                        rows.add(e);
                    }
                });
        return rows;
    }

    JsonNode provider(String providerId) {
        for (JsonNode p : admin(server.request("api/v1/admin/models").GET()).json().get("providers")) {
            if (providerId.equals(p.get("id").asText())) {
                return p;
            }
        }
        throw new AssertionError("no provider " + providerId + " in the admin's model view");
    }

    static Server.Reply completion(String model, String text) {
        return server.post("v1/chat/completions", "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"" + text + "\"}]}");
    }

    static List<String> pluginBundles(String pluginId) {
        return Arrays.stream(context.getBundles())
                .filter(b -> b.getLocation().startsWith("parley-plugin:" + pluginId + "@")
                        && b.getState() != Bundle.UNINSTALLED)
                .map(Bundle::getLocation).toList();
    }

    static List<String> activeBundles() {
        return Arrays.stream(context.getBundles()).filter(b -> b.getState() == Bundle.ACTIVE)
                .map(b -> b.getSymbolicName() + " " + b.getVersion()).toList();
    }

    static List<String> modelIds() {
        return HostileLoad.modelIds(server);
    }

    Server.Reply admin(HttpRequest.Builder request) {
        return server.admin(request, adminToken);
    }
}
