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
        var openai = result.configurations().get("dev.parley.provider.openai~default");
        assertThat(openai).containsEntry(".apiKey", "sk-test").doesNotContainKey("apiKey").containsEntry("baseUrl", "http://127.0.0.1:1234/v1");
        assertThat((String[]) openai.get("models")).containsExactly("a", "b", "c");
    }

    @Test
    void openAiEmbeddingModelsAreSplitAtSemicolonsSoAnEntryKeepsItsCommas(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("OPENAI_API_KEY", "sk-test", "OPENAI_EMBEDDING_MODELS",
                "text-embedding-3-small=1536,reducible; text-embedding-3-large=3072,batch=512"));
        assertThat((String[]) result.configurations().get("dev.parley.provider.openai~default").get("embeddingModels"))
                .containsExactly("text-embedding-3-small=1536,reducible", "text-embedding-3-large=3072,batch=512");
    }

    @Test
    void environmentConfiguresTheDefaultOllamaInstanceAsAFactoryConfiguration(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("OLLAMA_HOST", "127.0.0.1:11434", "OLLAMA_API_KEY", "proxy-token",
                "PARLEY_OLLAMA_MODELS", "llama3.2, qwen2.5:7b", "PARLEY_OLLAMA_EMBEDDING_MODELS", "nomic-embed-text"));
        var ollama = result.configurations().get(ConfigurationSources.OLLAMA_DEFAULT_PID);
        assertThat(ollama).containsEntry("baseUrl", "http://127.0.0.1:11434").containsEntry(".apiKey", "proxy-token")
                .doesNotContainKey("apiKey");
        assertThat((String[]) ollama.get("models")).containsExactly("llama3.2", "qwen2.5:7b");
        assertThat((String[]) ollama.get("embeddingModels")).containsExactly("nomic-embed-text");
        assertThat(ConfigurationSources.factoryInstance(ConfigurationSources.OLLAMA_DEFAULT_PID))
                .containsExactly("dev.parley.provider.ollama", "default");
        assertThat(ConfigurationSources.factoryInstance("dev.parley.provider.openai")).isNull();
        assertThat(ConfigurationSources.factoryInstance("broken~")).isNull();
    }

    @Test
    void ollamaBaseUrlWinsOverOllamaHostAndModelsAloneConfigureNoInstance(@TempDir Path dir) {
        var both = sources.compute(dir, Map.of("OLLAMA_HOST", "0.0.0.0:11434", "OLLAMA_BASE_URL", "http://gpu-box:11434"));
        assertThat(both.configurations().get(ConfigurationSources.OLLAMA_DEFAULT_PID))
                .containsEntry("baseUrl", "http://gpu-box:11434");
        var modelsOnly = sources.compute(dir, Map.of("PARLEY_OLLAMA_MODELS", "llama3.2"));
        assertThat(modelsOnly.configurations()).doesNotContainKey(ConfigurationSources.OLLAMA_DEFAULT_PID);
    }

    @Test
    void environmentConfiguresTheDefaultGeminiInstance(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("GEMINI_API_KEY", "AIza-test", "GEMINI_BASE_URL",
                "http://127.0.0.1:1234/v1beta", "GEMINI_MODELS", "gemini-2.5-flash, gemini-2.5-pro"));
        var gemini = result.configurations().get("dev.parley.provider.gemini~default");
        assertThat(gemini).containsEntry(".apiKey", "AIza-test").doesNotContainKey("apiKey")
                .containsEntry("baseUrl", "http://127.0.0.1:1234/v1beta");
        assertThat((String[]) gemini.get("models")).containsExactly("gemini-2.5-flash", "gemini-2.5-pro");
        assertThat(result.configurations()).doesNotContainKey("dev.parley.provider.openai~default");
    }

    @Test
    void withoutAKeyThereIsNoGeminiInstance(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("GEMINI_MODELS", "gemini-2.5-flash"));
        assertThat(result.configurations()).doesNotContainKey("dev.parley.provider.gemini~default");
    }

    @Test
    void environmentConfiguresTheDefaultAnthropicInstanceAsAFactoryConfiguration(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("ANTHROPIC_API_KEY", "sk-ant-test", "ANTHROPIC_MODELS",
                "claude-sonnet-4-5, claude-haiku-4-5"));
        var anthropic = result.configurations().get("dev.parley.provider.anthropic~default");
        assertThat(anthropic).containsEntry(".apiKey", "sk-ant-test").doesNotContainKey("apiKey")
                .containsEntry("id", "anthropic").containsEntry("parley.provider.id", "anthropic");
        assertThat((String[]) anthropic.get("models")).containsExactly("claude-sonnet-4-5", "claude-haiku-4-5");
        assertThat(ConfigurationSources.factoryInstance("dev.parley.provider.anthropic~default"))
                .containsExactly("dev.parley.provider.anthropic", "default");
        assertThat(ConfigurationSources.factoryInstance("~x")).isNull();
    }

    @Test
    void anthropicStaysUnconfiguredWithoutKeyOrUrlAndAFileMayNameMoreInstances(@TempDir Path dir) throws Exception {
        assertThat(sources.compute(dir, Map.of("ANTHROPIC_MODELS", "a")).configurations())
                .doesNotContainKey("dev.parley.provider.anthropic~default");
        Files.writeString(dir.resolve("providers.json"), """
                {"dev.parley.provider.anthropic~eu": {"id": "anthropic-eu", "baseUrl": "https://eu.example"},
                 "dev.parley.provider.anthropic~default": {"id": "claude"}}
                """);
        var result = sources.compute(dir, Map.of("ANTHROPIC_BASE_URL", "http://127.0.0.1:9"));
        assertThat(result.configurations().get("dev.parley.provider.anthropic~eu")).containsEntry("id", "anthropic-eu");
        assertThat(result.configurations().get("dev.parley.provider.anthropic~default"))
                .containsEntry("id", "claude").containsEntry("parley.provider.id", "claude")
                .containsEntry("baseUrl", "http://127.0.0.1:9");
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
        Files.writeString(dir.resolve("p.json"), "{\"dev.parley.provider.openai~default\": {\"models\": [\"m\"]}}");
        assertThat(sources.compute(dir, Map.of()).configurations()).doesNotContainKey("dev.parley.provider.openai~default");
        assertThat(sources.compute(dir, Map.of("OPENAI_BASE_URL", "http://localhost:11434/v1")).configurations())
                .containsKey("dev.parley.provider.openai~default");
    }

    @Test
    void theOpenAiProvidersFormerPlainPidInAFileConfiguresItsDefaultInstanceAndNamedInstancesStandBesideIt(
            @TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("p.json"), """
                {"dev.parley.provider.openai": {"baseUrl": "http://old-style:1/v1", "readTimeoutSeconds": 60},
                 "dev.parley.provider.openai~work": {"providerId": "openai-work", "parley.provider.id": "openai-work",
                                                      ".apiKey": "sk-work", "baseUrl": "http://work:1/v1"}}
                """);
        var configs = sources.compute(dir, Map.of("OPENAI_API_KEY", "sk-env")).configurations();

        assertThat(configs).doesNotContainKey("dev.parley.provider.openai");
        assertThat(configs.get("dev.parley.provider.openai~default")).containsEntry("baseUrl", "http://old-style:1/v1")
                .containsEntry("readTimeoutSeconds", 60).containsEntry(".apiKey", "sk-env");
        assertThat(configs.get("dev.parley.provider.openai~work")).containsEntry("providerId", "openai-work")
                .containsEntry(".apiKey", "sk-work");
    }

    @Test
    void environmentConfiguresTheRouterWithAliasesSeparatedBySemicolons(@TempDir Path dir) {
        var result = new ConfigurationSources().compute(dir, Map.of(
                "PARLEY_MODEL_ALIASES", "fast=priority:openai/gpt-4o-mini,anthropic/claude-3-5-haiku; "
                        + "smart=weighted:openai/gpt-4o@3,anthropic/claude-sonnet-4@1;",
                "PARLEY_ROUTER_FALLBACK_ON", "rate-limited, overloaded",
                "PARLEY_ROUTER_RETRY_MAX_ATTEMPTS", "3",
                "PARLEY_ROUTER_FIRST_TOKEN_TIMEOUT_MS", "15000"));

        var router = result.configurations().get("dev.parley.router");
        assertThat((String[]) router.get("aliases")).containsExactly(
                "fast=priority:openai/gpt-4o-mini,anthropic/claude-3-5-haiku",
                "smart=weighted:openai/gpt-4o@3,anthropic/claude-sonnet-4@1");
        assertThat((String[]) router.get("fallbackOn")).containsExactly("rate-limited", "overloaded");
        assertThat(router).containsEntry("retryMaxAttempts", "3").containsEntry("firstTokenTimeoutMillis", "15000");
    }

    @Test
    void environmentSetsTheMasterKeysAsPrivateKeys(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("PARLEY_MASTER_KEY", "k2:bmV3",
                "PARLEY_MASTER_KEY_PREVIOUS", "k1:b2xk, k0:b2xkZXI=", "PARLEY_MASTER_KEY_FILE", "/run/secrets/parley"));
        var secrets = result.configurations().get(ConfigurationSources.SECRETS_PID);
        assertThat(secrets).containsEntry(".masterKey", "k2:bmV3").containsEntry("masterKeyFile", "/run/secrets/parley")
                .doesNotContainKey("masterKey").doesNotContainKey("previousKeys");
        assertThat((String[]) secrets.get(".previousKeys")).containsExactly("k1:b2xk", "k0:b2xkZXI=");
    }

    @Test
    void environmentConfiguresTheRateLimiterWithItsPasswordPrivate(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of(
                "PARLEY_RATELIMIT_STORE", "redis",
                "PARLEY_REDIS_URI", "redis://redis.internal:6379/2",
                "PARLEY_REDIS_PASSWORD", "s3cret",
                "PARLEY_RATELIMIT_FAIL_MODE", "closed",
                "PARLEY_RATELIMIT_TIMEOUT_MS", "80"));

        assertThat(result.configurations().get("dev.parley.ratelimit")).containsOnly(
                Map.entry("store", "redis"), Map.entry("redisUri", "redis://redis.internal:6379/2"),
                Map.entry(".redisPassword", "s3cret"), Map.entry("failMode", "closed"),
                Map.entry("timeoutMillis", "80"));
        assertThat(sources.compute(dir, Map.of()).configurations()).doesNotContainKey("dev.parley.ratelimit");
        // The stream log reads the same Redis; its store is its own choice.
        assertThat(result.configurations().get("dev.parley.streams")).containsOnly(
                Map.entry("redisUri", "redis://redis.internal:6379/2"), Map.entry(".redisPassword", "s3cret"));
    }

    @Test
    void aGatewayLeavesTheMaintenanceJobsToTheWorkersUnlessTold(@TempDir Path dir) {
        var gateway = sources.compute(dir, Map.of("PARLEY_AUDIT_RETENTION_DAYS", "30")).configurations();
        ConfigurationSources.distributionDefaults("gateway", gateway);
        assertThat(gateway.get("dev.parley.audit")).containsOnly(Map.entry("retentionDays", "30"),
                Map.entry("purgeIntervalMinutes", "0"));
        assertThat(gateway.get("dev.parley.budgets")).containsOnly(Map.entry("purgeIntervalSeconds", "0"));

        var told = new java.util.TreeMap<String, Map<String, Object>>();
        told.put("dev.parley.audit", new java.util.LinkedHashMap<>(Map.of("purgeIntervalMinutes", "15")));
        ConfigurationSources.distributionDefaults("gateway", told);
        assertThat(told.get("dev.parley.audit")).containsEntry("purgeIntervalMinutes", "15");

        for (String other : new String[] { "worker", "all-in-one", null }) {
            var configurations = sources.compute(dir, Map.of()).configurations();
            ConfigurationSources.distributionDefaults(other, configurations);
            assertThat(configurations).doesNotContainKeys("dev.parley.audit", "dev.parley.budgets");
        }
        var worker = sources.compute(dir, Map.of()).configurations();
        ConfigurationSources.distributionDefaults("worker", worker);
        assertThat((String[]) worker.get(ConfigurationSources.REST_PID).get("requiredReadyChecks"))
                .containsExactly("Parley store", "Parley front ends");
    }

    @Test
    void environmentPutsTheStreamLogInRedis(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("PARLEY_STREAMS_STORE", "redis",
                "PARLEY_REDIS_URI", "redis://redis.internal:6379"));

        assertThat(result.configurations().get("dev.parley.streams")).containsOnly(Map.entry("store", "redis"),
                Map.entry("redisUri", "redis://redis.internal:6379"));
        assertThat(sources.compute(dir, Map.of()).configurations()).doesNotContainKey("dev.parley.streams");
    }

    @Test
    void environmentSetsTheRequestLimits(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of(
                "PARLEY_RATELIMIT_KEY_RPM", "120", "PARLEY_RATELIMIT_KEY_BURST", "20",
                "PARLEY_RATELIMIT_USER_RPM", "0", "PARLEY_RATELIMIT_USER_BURST", "1",
                "PARLEY_RATELIMIT_TENANT_RPM", "9000", "PARLEY_RATELIMIT_TENANT_BURST", "900",
                "PARLEY_RATELIMIT_TENANTS", "acme=30000/5000, free=60",
                "PARLEY_RATELIMIT_SIGNIN_RPM", "10", "PARLEY_RATELIMIT_SIGNIN_BURST", "5"));
        var limits = result.configurations().get("dev.parley.web.limits");
        assertThat(limits).containsEntry("keyRequestsPerMinute", "120").containsEntry("keyBurst", "20")
                .containsEntry("userRequestsPerMinute", "0").containsEntry("userBurst", "1")
                .containsEntry("tenantRequestsPerMinute", "9000").containsEntry("tenantBurst", "900")
                .containsEntry("signInRequestsPerMinute", "10").containsEntry("signInBurst", "5").hasSize(9);
        assertThat((String[]) limits.get("tenantLimits")).containsExactly("acme=30000/5000", "free=60");
        assertThat(sources.compute(dir, Map.of()).configurations()).doesNotContainKey("dev.parley.web.limits");
    }

    @Test
    void environmentNamesTheTrustedProxies(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("PARLEY_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"));
        assertThat((String[]) result.configurations().get("dev.parley.web.proxies").get("trustedProxies"))
                .containsExactly("10.0.0.0/8", "127.0.0.1");
        assertThat(sources.compute(dir, Map.of()).configurations()).doesNotContainKey("dev.parley.web.proxies");
    }

    @Test
    void environmentSetsTheTokenAndModelLimits(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("PARLEY_RATELIMIT_KEY_TPM", "20000",
                "PARLEY_RATELIMIT_USER_TPM", "40000", "PARLEY_RATELIMIT_TENANT_TPM", "400000",
                "PARLEY_RATELIMIT_MODELS", "gpt-4o=60/200000, llama3=0/50000"));
        var limits = result.configurations().get("dev.parley.chat.limits");
        assertThat(limits).containsEntry("keyTokensPerMinute", "20000").containsEntry("userTokensPerMinute", "40000")
                .containsEntry("tenantTokensPerMinute", "400000").hasSize(4);
        assertThat((String[]) limits.get("modelLimits")).containsExactly("gpt-4o=60/200000", "llama3=0/50000");
        assertThat(sources.compute(dir, Map.of()).configurations()).doesNotContainKey("dev.parley.chat.limits");
    }

    @Test
    void environmentSetsTheAuditRetention(@TempDir Path dir) {
        assertThat(sources.compute(dir, Map.of("PARLEY_AUDIT_RETENTION_DAYS", "730")).configurations()
                .get("dev.parley.audit")).containsOnly(Map.entry("retentionDays", "730"));
        assertThat(sources.compute(dir, Map.of()).configurations()).doesNotContainKey("dev.parley.audit");
    }

    @Test
    void environmentConfiguresTheSignInWithTheBootstrapPasswordPrivate(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of(
                "PARLEY_BOOTSTRAP_ADMIN_PASSWORD", "first admin password",
                "PARLEY_AUTH_ISSUER", "https://parley.example",
                "PARLEY_AUTH_ACCESS_TOKEN_MINUTES", "5",
                "PARLEY_AUTH_REFRESH_TOKEN_DAYS", "7",
                "PARLEY_AUTH_LOCKOUT_THRESHOLD", "10",
                "PARLEY_AUTH_LOCKOUT_MINUTES", "30",
                "PARLEY_PASSWORD_MIN_LENGTH", "16"));

        assertThat(result.configurations().get(ConfigurationSources.IDENTITY_PID)).containsOnly(
                Map.entry(".bootstrapAdminPassword", "first admin password"),
                Map.entry("issuer", "https://parley.example"), Map.entry("accessTokenMinutes", "5"),
                Map.entry("refreshTokenDays", "7"), Map.entry("lockoutThreshold", "10"),
                Map.entry("lockoutMinutes", "30"), Map.entry("passwordMinLength", "16"));
    }

    @Test
    void environmentSetsTheWebSocketsAllowedOrigins(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("PARLEY_WS_ALLOWED_ORIGINS",
                "https://chat.example.com, http://localhost:*"));
        assertThat((String[]) result.configurations().get("dev.parley.web.ws").get("allowedOrigins"))
                .containsExactly("https://chat.example.com", "http://localhost:*");
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
    void mistralVariablesCreateTheDefaultInstanceOfTheMistralFactory(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("MISTRAL_API_KEY", "mk-test", "MISTRAL_MODELS", "mistral-small-latest, "
                + "pixtral-12b-2409", "MISTRAL_BASE_URL", "http://127.0.0.1:9/v1"));
        var mistral = result.configurations().get("dev.parley.provider.mistral~default");
        assertThat(mistral).containsEntry(".apiKey", "mk-test").doesNotContainKey("apiKey")
                .containsEntry("baseUrl", "http://127.0.0.1:9/v1");
        assertThat((String[]) mistral.get("models")).containsExactly("mistral-small-latest", "pixtral-12b-2409");
        assertThat(ConfigurationSources.factoryInstance(ConfigurationSources.MISTRAL_PID))
                .containsExactly("dev.parley.provider.mistral", "default");
    }

    @Test
    void mistralModelsAloneConfigureNoInstance(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("MISTRAL_MODELS", "mistral-small-latest"));
        assertThat(result.configurations()).doesNotContainKey("dev.parley.provider.mistral~default");
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
