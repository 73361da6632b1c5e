package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.testsupport.FakeOpenAiServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real server jar on a fresh data directory installs the provider plugins it ships on first start (ADR 11), the
 * OpenAI-compatible provider among them, and an admin's uninstall survives a restart. A data directory from a version
 * that ran the OpenAI provider as a runtime bundle (no desired state for it) gets the plugin at its next start.
 */
class ShippedPluginsIT {
    static final String TOKEN = "shipped-plugins-admin-token";
    /** The registry's default upload limit, which applies to shipped plugins too (dev.parley.registry maxArtifactBytes). */
    static final long REGISTRY_LIMIT = 64L * 1024 * 1024;

    /** Start budget with the shipped plugins on this shared 2-core machine (a plain start takes 6-35 s here). */
    static final java.time.Duration FIRST_START = java.time.Duration.ofSeconds(180);
    static final String OPENAI_MODEL = "fake-model";

    @TempDir
    Path dataDir;

    /** The index inside the jar: id → size. */
    private static Map<String, Long> shippedIndex() throws Exception {
        try (var jar = new ZipFile(System.getProperty("parley.server.jar", "target/parley-server.jar"))) {
            JsonNode index = PluginAdmin.JSON.readTree(jar.getInputStream(jar.getEntry("plugins/index.json")));
            Map<String, Long> sizes = new LinkedHashMap<>();
            index.get("plugins").forEach(p -> sizes.put(p.get("id").asText(), p.get("size").asLong()));
            return sizes;
        }
    }

    /**
     * Each provider's default instance configured, so each comes up active: the OpenAI-compatible one against the fake
     * OpenAI server, the others against a port nobody listens on.
     */
    private static Map<String, String> env(FakeOpenAiServer openAi) {
        var env = new HashMap<String, String>();
        env.put("PARLEY_ADMIN_TOKEN", TOKEN);
        env.put("PARLEY_SHIPPED_PLUGINS", "all");
        env.put("OPENAI_API_KEY", "sk-upstream");
        env.put("OPENAI_BASE_URL", openAi.baseUrl());
        env.put("OPENAI_MODELS", OPENAI_MODEL);
        String nowhere = "http://127.0.0.1:9";
        env.put("ANTHROPIC_BASE_URL", nowhere);
        env.put("ANTHROPIC_API_KEY", "test");
        env.put("ANTHROPIC_MODELS", "claude-test");
        env.put("OLLAMA_BASE_URL", nowhere);
        env.put("PARLEY_OLLAMA_MODELS", "llama-test");
        env.put("GEMINI_API_KEY", "test");
        env.put("GEMINI_BASE_URL", nowhere + "/v1beta");
        env.put("GEMINI_MODELS", "gemini-test");
        env.put("MISTRAL_API_KEY", "test");
        env.put("MISTRAL_BASE_URL", nowhere + "/v1");
        env.put("MISTRAL_MODELS", "mistral-test");
        env.put("AZURE_OPENAI_ENDPOINT", nowhere);
        env.put("AZURE_OPENAI_API_KEY", "test");
        env.put("AZURE_OPENAI_DEPLOYMENTS", "gpt-test=gpt-test");
        env.put("PARLEY_BEDROCK_REGION", "us-east-1");
        env.put("PARLEY_BEDROCK_ENDPOINT", nowhere);
        env.put("PARLEY_BEDROCK_ACCESS_KEY_ID", "test");
        env.put("PARLEY_BEDROCK_SECRET_ACCESS_KEY", "test");
        env.put("PARLEY_BEDROCK_MODELS", "bedrock-test");
        return env;
    }

    @Test
    void aFreshServerInstallsItsProvidersAndAnUninstallSurvivesARestart() throws Exception {
        Map<String, Long> shipped = shippedIndex();
        assertThat(shipped.keySet()).containsExactlyInAnyOrder("anthropic", "azure-openai", "bedrock", "gemini", "mistral",
                "ollama", "openai");
        // Every shipped plugin fits the registry's limit, which applies to shipped plugins too (a larger one would be
        // refused at start; VerifyingPluginRegistryTest covers that refusal).
        assertThat(shipped).allSatisfy((id, size) -> assertThat(size).as(id).isLessThanOrEqualTo(REGISTRY_LIMIT));
        List<String> installable = new ArrayList<>(shipped.keySet());

        try (var openAi = FakeOpenAiServer.start()) {
            try (var node = ParleyProcess.start(dataDir, env(openAi), FIRST_START)) {
                var admin = new PluginAdmin(node, TOKEN);
                // Ready means seeded: no wait beyond ParleyProcess's own readiness wait.
                Map<String, JsonNode> plugins = installed(admin);
                assertThat(plugins.keySet()).containsExactlyInAnyOrderElementsOf(installable);
                for (String id : installable) {
                    JsonNode p = plugins.get(id);
                    assertThat(p.at("/desired/updatedBy").asText()).as(id).isEqualTo("distribution");
                    assertThat(p.at("/desired/enabled").asBoolean()).as(id).isTrue();
                    assertThat(p.at("/thisNode/bundleState").asText()).as(id + ": " + p).isEqualTo("active");
                    assertThat(p.at("/thisNode/state").asText()).as(id + ": " + p).isEqualTo("active");
                    assertThat(p.at("/entry/origin").asText()).as(id).isEqualTo("distribution");
                }
                JsonNode registry = PluginAdmin.JSON.readTree(get(node, "/api/v1/registry/plugins"));
                Map<String, String> origins = new HashMap<>();
                registry.get("plugins").forEach(p -> origins.put(p.get("id").asText(), p.get("origin").asText()));
                for (String id : installable) {
                    assertThat(origins).containsEntry(id, "distribution");
                }
                assertThat(get(node, "/health/ready")).doesNotContain("was refused by the registry");
                assertThat(Files.readString(node.log)).doesNotContain("event=shipped_plugin_refused");

                // The OpenAI-compatible provider, now a plugin, answers from the first ready.
                assertThat(admin.answer(OPENAI_MODEL, "hello")).isEqualTo("echo: hello");

                assertThat(admin.uninstall("ollama").status()).isEqualTo(204);
                assertThat(admin.uninstall("openai").status()).isEqualTo(204);
                assertThat(installed(admin)).doesNotContainKeys("ollama", "openai");
                assertOpenAiGone(admin);
                assertThat(node.stop()).isIn(0, 143);
            }

            try (var node = ParleyProcess.start(dataDir, env(openAi), FIRST_START)) {
                var admin = new PluginAdmin(node, TOKEN);
                Map<String, JsonNode> plugins = installed(admin);
                assertThat(plugins).doesNotContainKeys("ollama", "openai");
                var others = new ArrayList<>(installable);
                others.removeAll(List.of("ollama", "openai"));
                assertThat(plugins.keySet()).containsExactlyInAnyOrderElementsOf(others);
                for (String id : others) {
                    assertThat(plugins.get(id).at("/thisNode/state").asText()).as(id).isEqualTo("active");
                    assertThat(plugins.get(id).at("/desired/generation").asLong()).as(id).isEqualTo(1);
                }
                assertOpenAiGone(admin);
            }
        }
    }

    /**
     * Up to this version the OpenAI-compatible provider was a bundle of the runtime: a data directory it ran on has no
     * desired state for the plugin {@code openai}, so the first start of this version installs it (actor
     * {@code distribution}) and chats are answered as before. Started first without seeding (and without an OpenAI
     * configuration: offline, with the warning), the data directory has that history.
     */
    @Test
    void aDataDirectoryWithoutOpenAiHistoryGetsThePluginAtItsNextStart() throws Exception {
        var offline = Map.of("PARLEY_ADMIN_TOKEN", TOKEN, "PARLEY_SHIPPED_PLUGINS", "none");
        try (var node = ParleyProcess.start(dataDir, offline)) {
            var admin = new PluginAdmin(node, TOKEN);
            assertThat(installed(admin)).isEmpty();
            var chat = admin.chat(OPENAI_MODEL, "anyone?");
            assertThat(chat.status()).as(chat.body()).isEqualTo(503);
            assertThat(chat.json().path("code").asText()).isEqualTo("no-provider");
            assertThat(Files.readString(node.log)).contains("no model provider configured");
            assertThat(node.stop()).isIn(0, 143);
        }

        // This start installs a shipped plugin before it says ready: the budget of such starts.
        try (var openAi = FakeOpenAiServer.start();
                var node = ParleyProcess.start(dataDir, Map.of("PARLEY_ADMIN_TOKEN", TOKEN, "PARLEY_SHIPPED_PLUGINS",
                        "openai", "OPENAI_API_KEY", "sk-upstream", "OPENAI_BASE_URL", openAi.baseUrl(),
                        "OPENAI_MODELS", OPENAI_MODEL), FIRST_START)) {
            var admin = new PluginAdmin(node, TOKEN);
            Map<String, JsonNode> plugins = installed(admin);
            assertThat(plugins.keySet()).containsExactly("openai");
            JsonNode openai = plugins.get("openai");
            assertThat(openai.at("/desired/updatedBy").asText()).isEqualTo("distribution");
            assertThat(openai.at("/desired/generation").asLong()).isEqualTo(1);
            assertThat(openai.at("/thisNode/state").asText()).as(openai.toString()).isEqualTo("active");
            assertThat(openai.at("/entry/origin").asText()).isEqualTo("distribution");
            assertThat(admin.answer(OPENAI_MODEL, "after the upgrade")).isEqualTo("echo: after the upgrade");
            assertThat(Files.readString(node.log)).doesNotContain("no model provider configured");
        }
    }

    /** OpenAI chats stop with the plugin: its model is gone, and the router names the provider that served it. */
    private static void assertOpenAiGone(PluginAdmin admin) {
        // The uninstall answers once the desired state is committed; the provider's service leaves as its bundle stops.
        await().atMost(java.time.Duration.ofSeconds(30)).until(() -> !admin.modelIds().contains(OPENAI_MODEL));
        var chat = admin.chat(OPENAI_MODEL, "still there?");
        assertThat(chat.status()).as(chat.body()).isEqualTo(404);
        assertThat(chat.json().path("code").asText()).isEqualTo("model-not-found");
        assertThat(chat.json().path("detail").asText()).contains("served by provider openai");
    }

    private static Map<String, JsonNode> installed(PluginAdmin admin) {
        var reply = admin.list();
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        Map<String, JsonNode> byId = new LinkedHashMap<>();
        reply.json().get("plugins").forEach(p -> byId.put(p.get("pluginId").asText(), p));
        return byId;
    }

    private static String get(ParleyProcess node, String path) throws Exception {
        return HttpClient.newHttpClient().send(node.request(path).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }
}
