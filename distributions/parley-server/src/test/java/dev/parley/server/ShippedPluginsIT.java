package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
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
 * The real server jar on a fresh data directory installs the provider plugins it ships on first start (ADR 11), and
 * an admin's uninstall survives a restart.
 */
class ShippedPluginsIT {
    static final String TOKEN = "shipped-plugins-admin-token";
    /** The registry's default upload limit, which applies to shipped plugins too (dev.parley.registry maxArtifactBytes). */
    static final long REGISTRY_LIMIT = 64L * 1024 * 1024;

    /** Start budget with the shipped plugins on this shared 2-core machine (a plain start takes 6-35 s here). */
    static final java.time.Duration FIRST_START = java.time.Duration.ofSeconds(180);

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

    /** Each provider's default instance configured (against a port nobody listens on), so each comes up active. */
    private Map<String, String> env() {
        var env = new HashMap<String, String>();
        env.put("PARLEY_ADMIN_TOKEN", TOKEN);
        env.put("PARLEY_SHIPPED_PLUGINS", "all");
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
                "ollama");
        // Every shipped plugin fits the registry's limit, which applies to shipped plugins too (a larger one would be
        // refused at start; VerifyingPluginRegistryTest covers that refusal).
        assertThat(shipped).allSatisfy((id, size) -> assertThat(size).as(id).isLessThanOrEqualTo(REGISTRY_LIMIT));
        List<String> installable = new ArrayList<>(shipped.keySet());

        try (var node = ParleyProcess.start(dataDir, env(), FIRST_START)) {
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

            assertThat(admin.uninstall("ollama").status()).isEqualTo(204);
            assertThat(installed(admin)).doesNotContainKey("ollama");
            assertThat(node.stop()).isIn(0, 143);
        }

        try (var node = ParleyProcess.start(dataDir, env(), FIRST_START)) {
            var admin = new PluginAdmin(node, TOKEN);
            Map<String, JsonNode> plugins = installed(admin);
            assertThat(plugins).doesNotContainKey("ollama");
            var others = new ArrayList<>(installable);
            others.remove("ollama");
            assertThat(plugins.keySet()).containsExactlyInAnyOrderElementsOf(others);
            for (String id : others) {
                assertThat(plugins.get(id).at("/thisNode/state").asText()).as(id).isEqualTo("active");
                assertThat(plugins.get(id).at("/desired/generation").asLong()).as(id).isEqualTo(1);
            }
        }
    }

    private static Map<String, JsonNode> installed(PluginAdmin admin) {
        var reply = admin.list();
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        Map<String, JsonNode> byId = new LinkedHashMap<>();
        reply.json().get("plugins").forEach(p -> byId.put(p.get("pluginId").asText(), p));
        return byId;
    }

    private static String get(ParleyProcess node, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(node.uri(path)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }
}
