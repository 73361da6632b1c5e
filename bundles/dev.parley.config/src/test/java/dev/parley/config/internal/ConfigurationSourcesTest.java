package dev.parley.config.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigurationSourcesTest {
    private final ConfigurationSources sources = new ConfigurationSources();

    @Test
    void withNothingSetOnlyTheRestWhiteboardIsConfiguredAndNoProvider(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of());
        assertThat(result.configurations()).containsOnlyKeys(ConfigurationSources.REST_WHITEBOARD_PID);
        assertThat(result.problems()).isEmpty();
    }

    @Test
    void environmentConfiguresTheProvider(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("OPENAI_API_KEY", "sk-test", "OPENAI_BASE_URL", "http://127.0.0.1:1234/v1",
                "OPENAI_MODELS", "a, b,,c"));
        var openai = result.configurations().get("dev.parley.provider.openai");
        assertThat(openai).containsEntry(".apiKey", "sk-test").doesNotContainKey("apiKey").containsEntry("baseUrl", "http://127.0.0.1:1234/v1");
        assertThat((String[]) openai.get("models")).containsExactly("a", "b", "c");
    }

    @Test
    void filesAreReadInNameOrderAndEnvironmentWins(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("10-base.json"), """
                {"dev.parley.store.jdbc": {"url": "jdbc:h2:mem:a", "poolSize": 4},
                 "dev.parley.core": {"defaultModel": "m1", "maxMessageChars": 100, "flags": ["x", 2, true]}}
                """);
        Files.writeString(dir.resolve("20-override.json"), """
                {"dev.parley.core": {"defaultModel": "m2"}}
                """);
        var result = sources.compute(dir, Map.of("PARLEY_DB_URL", "jdbc:postgresql://db/parley"));
        assertThat(result.configurations().get("dev.parley.store.jdbc"))
                .containsEntry("url", "jdbc:postgresql://db/parley").containsEntry("poolSize", 4);
        assertThat(result.configurations().get("dev.parley.core"))
                .containsEntry("defaultModel", "m2").containsEntry("maxMessageChars", 100);
        assertThat((String[]) result.configurations().get("dev.parley.core").get("flags")).containsExactly("x", "2", "true");
    }

    @Test
    void aBrokenFileIsReportedWithItsPositionAndTheOthersStillApply(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("a.json"), "{\"dev.parley.core\": {\"defaultModel\": \"ok\"}}");
        Files.writeString(dir.resolve("b.json"), "{\n  \"dev.parley.core\": {\"defaultModel\": }\n}");
        Files.writeString(dir.resolve("c.json"), "[1, 2]");
        Files.writeString(dir.resolve("d.json"), "{\"dev.parley.core\": {\"nested\": {\"no\": 1}}}");
        var result = sources.compute(dir, Map.of());
        assertThat(result.configurations().get("dev.parley.core")).containsEntry("defaultModel", "ok");
        assertThat(result.problems()).hasSize(3);
        assertThat(result.problems().get(0).file().getFileName()).hasToString("b.json");
        assertThat(result.problems().get(0).reason()).contains("not valid JSON").contains("line 2");
        assertThat(result.problems().get(1).reason()).contains("JSON object of PID");
        assertThat(result.problems().get(2).reason()).contains("dev.parley.core.nested");
    }

    @Test
    void aProviderSectionWithoutKeyOrUrlMeansOffline(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("p.json"), "{\"dev.parley.provider.openai\": {\"models\": [\"m\"]}}");
        assertThat(sources.compute(dir, Map.of()).configurations()).doesNotContainKey("dev.parley.provider.openai");
        assertThat(sources.compute(dir, Map.of("OPENAI_BASE_URL", "http://localhost:11434/v1")).configurations())
                .containsKey("dev.parley.provider.openai");
    }

    @Test
    void environmentSetsTheLogLevels(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("PARLEY_LOG_LEVEL", "warn",
                "PARLEY_LOG_LEVELS", "dev.parley.core=DEBUG, org.eclipse.jetty=ERROR"));
        var logging = result.configurations().get(ConfigurationSources.LOGGING_PID);
        assertThat(logging).containsEntry("rootLevel", "warn");
        assertThat((String[]) logging.get("levels")).containsExactly("dev.parley.core=DEBUG", "org.eclipse.jetty=ERROR");
    }

    @Test
    void aBrokenFileIsReportedWithoutTheValueItStumbledOn(@TempDir Path dir) throws Exception {
        // An unquoted secret is exactly what a JSON parser quotes back in its message; the reason is logged.
        Files.writeString(dir.resolve("secret.json"), "{\"dev.parley.provider.openai\": {\".apiKey\": skLiveSecret123}}");
        var result = sources.compute(dir, Map.of());
        assertThat(result.problems()).singleElement().satisfies(p -> assertThat(p.reason())
                .contains("not valid JSON").contains("line 1").doesNotContain("skLiveSecret123").doesNotContain("skLive"));
    }

    @Test
    void environmentConfiguresOneAzureOpenAiFactoryInstance(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com",
                "AZURE_OPENAI_API_KEY", "az-key", "AZURE_OPENAI_DEPLOYMENTS", "gpt-4o=prod-4o, gpt-4o-mini",
                "AZURE_OPENAI_API_VERSION", "2025-04-01-preview"));
        var azure = result.configurations().get("dev.parley.provider.azure~default");
        assertThat(azure).containsEntry("endpoint", "https://res.openai.azure.com").containsEntry(".apiKey", "az-key")
                .doesNotContainKey("apiKey").containsEntry("auth", "api-key").containsEntry("id", "azure-openai")
                .containsEntry("parley.provider.id", "azure-openai").containsEntry("apiVersion", "2025-04-01-preview");
        assertThat((String[]) azure.get("deployments")).containsExactly("gpt-4o=prod-4o", "gpt-4o-mini");
    }

    @Test
    void anEntraIdApplicationInTheEnvironmentMeansClientCredentials(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com",
                "AZURE_TENANT_ID", "t", "AZURE_CLIENT_ID", "c", "AZURE_CLIENT_SECRET", "s"));
        assertThat(result.configurations().get("dev.parley.provider.azure~default"))
                .containsEntry("auth", "entra-client-credentials").containsEntry(".clientSecret", "s")
                .containsEntry("tenantId", "t").containsEntry("clientId", "c");
        // Entra ID variables without an endpoint configure no Azure OpenAI instance.
        assertThat(sources.compute(dir, Map.of("AZURE_TENANT_ID", "t", "AZURE_CLIENT_SECRET", "s")).configurations())
                .doesNotContainKey("dev.parley.provider.azure~default");
    }

    @Test
    void filesMayNameFactoryInstancesToo(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("azure.json"), """
                {"dev.parley.provider.azure~eu": {"id": "azure-eu", "endpoint": "https://eu.openai.azure.com",
                                                  "auth": "bearer-token"}}
                """);
        var result = sources.compute(dir, Map.of());
        assertThat(result.configurations().get("dev.parley.provider.azure~eu")).containsEntry("id", "azure-eu")
                .containsEntry("auth", "bearer-token");
    }
}
