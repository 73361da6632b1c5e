package dev.parley.config.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Computes the configurations Parley starts with, by PID: built-in defaults, then the JSON files of the
 * configuration directory (in file-name order), then environment variables with the ecosystem's usual
 * names. Later sources win key by key.
 */
final class ConfigurationSources {
    /**
     * The OpenAI-compatible provider's default instance (a factory configuration, like the plugins'); the plain PID
     * of earlier versions, in a configuration file, still names it ({@link #LEGACY_PIDS}).
     */
    static final String OPENAI_PID = "dev.parley.provider.openai~default";
    /** PIDs that became factory configurations: a file naming the old PID configures the default instance. */
    static final Map<String, String> LEGACY_PIDS = Map.of("dev.parley.provider.openai", OPENAI_PID);
    /**
     * The default instance of the Ollama provider plugin, a factory configuration: {@code factoryPid~name} names a
     * factory configuration instance (Configuration Admin 1.6 {@code getFactoryConfiguration}), here and in
     * {@code config/*.json}.
     */
    static final String OLLAMA_DEFAULT_PID = "dev.parley.provider.ollama~default";
    /** The Gemini plugin's default instance (a factory configuration, like Ollama's). */
    static final String GEMINI_PID = "dev.parley.provider.gemini~default";
    /** The Anthropic plugin's default instance (a factory configuration). */
    static final String ANTHROPIC_PID = "dev.parley.provider.anthropic~default";
    /** The Mistral plugin's default instance (a factory configuration, like Ollama's). */
    static final String MISTRAL_PID = "dev.parley.provider.mistral~default";
    static final String REST_WHITEBOARD_PID = "JakartarsServletWhiteboardRuntimeComponent";
    static final String REST_PID = "dev.parley.web.rest";
    static final String OBSERVABILITY_PID = "dev.parley.observability";
    /** The admin API's bearer token (a secret: dotted, never a service property). */
    static final String ADMIN_TOKEN_KEY = ".adminToken";
    static final String REGISTRY_PID = "dev.parley.registry";
    static final String STORE_PID = "dev.parley.store.jdbc";
    static final String PLUGINS_PID = "dev.parley.plugins";
    static final String TENANT_PROVIDERS_PID = "dev.parley.plugins.tenants";
    static final String REGISTRY_S3_PID = "dev.parley.registry.s3";
    static final String LOGGING_PID = "dev.parley.logging";
    static final String ROUTER_PID = "dev.parley.router";
    static final String PLUGIN_GUARD_PID = "dev.parley.plugin.guard";
    static final String RATELIMIT_PID = "dev.parley.ratelimit";
    static final String STREAMS_PID = "dev.parley.streams";
    /** The limits the edge applies to requests (the rate limiter above decides them). */
    static final String REQUEST_LIMITS_PID = "dev.parley.web.limits";
    static final String CHAT_LIMITS_PID = "dev.parley.chat.limits";
    static final String TRUSTED_PROXIES_PID = "dev.parley.web.proxies";
    /**
     * The one Bedrock provider instance the environment configures: a named factory configuration (Configuration
     * Admin 1.6, PID {@code factoryPid~name}); more instances come from configuration files under their own names.
     */
    static final String BEDROCK_DEFAULT_PID = "dev.parley.provider.bedrock~default";
    /** The one Azure OpenAI provider instance the environment variables configure. */
    static final String AZURE_OPENAI_PID = "dev.parley.provider.azure~default";
    static final String SECRETS_PID = "dev.parley.secrets";
    /**
     * The built-in sign-in. Always configured (StartupConfiguration), since its component requires a configuration:
     * it must not make the first admin before the bootstrap password from the environment has arrived.
     */
    static final String IDENTITY_PID = "dev.parley.identity";
    private static final java.util.regex.Pattern STORAGE_KIND = java.util.regex.Pattern.compile("[A-Za-z0-9_-]+");
    private static final java.util.regex.Pattern UNRECOGNIZED_TOKEN = java.util.regex.Pattern.compile("Unrecognized token '[^']*'");

    /**
     * Environment variable -> (PID, key). Keep README's configuration reference in step with this table. Secrets
     * use keys starting with a dot: Declarative Services never copies those into service properties.
     */
    static final List<EnvBinding> ENV = List.of(
            new EnvBinding("OPENAI_API_KEY", OPENAI_PID, ".apiKey", false),
            new EnvBinding("OPENAI_BASE_URL", OPENAI_PID, "baseUrl", false),
            new EnvBinding("OPENAI_MODELS", OPENAI_PID, "models", true),
            new EnvBinding("OPENAI_ORGANIZATION", OPENAI_PID, "organization", false),
            // An entry holds commas of its own ("text-embedding-3-small=1536,reducible"), so entries are split at ';'.
            new EnvBinding("OPENAI_EMBEDDING_MODELS", OPENAI_PID, "embeddingModels", ";"),
            // Ollama's own client variable (host:port or a URL) first, so that OLLAMA_BASE_URL wins when both are set.
            new EnvBinding("OLLAMA_HOST", OLLAMA_DEFAULT_PID, "baseUrl", false),
            new EnvBinding("OLLAMA_BASE_URL", OLLAMA_DEFAULT_PID, "baseUrl", false),
            new EnvBinding("OLLAMA_API_KEY", OLLAMA_DEFAULT_PID, ".apiKey", false),
            // Not OLLAMA_MODELS: that is the Ollama server's model directory.
            new EnvBinding("PARLEY_OLLAMA_MODELS", OLLAMA_DEFAULT_PID, "models", true),
            new EnvBinding("PARLEY_OLLAMA_EMBEDDING_MODELS", OLLAMA_DEFAULT_PID, "embeddingModels", true),
            new EnvBinding("GEMINI_API_KEY", GEMINI_PID, ".apiKey", false),
            new EnvBinding("GEMINI_BASE_URL", GEMINI_PID, "baseUrl", false),
            new EnvBinding("GEMINI_MODELS", GEMINI_PID, "models", true),
            new EnvBinding("PARLEY_BEDROCK_REGION", BEDROCK_DEFAULT_PID, "region", false),
            new EnvBinding("PARLEY_BEDROCK_ENDPOINT", BEDROCK_DEFAULT_PID, "endpoint", false),
            new EnvBinding("PARLEY_BEDROCK_ACCESS_KEY_ID", BEDROCK_DEFAULT_PID, ".accessKeyId", false),
            new EnvBinding("PARLEY_BEDROCK_SECRET_ACCESS_KEY", BEDROCK_DEFAULT_PID, ".secretAccessKey", false),
            new EnvBinding("PARLEY_BEDROCK_SESSION_TOKEN", BEDROCK_DEFAULT_PID, ".sessionToken", false),
            new EnvBinding("PARLEY_BEDROCK_MODELS", BEDROCK_DEFAULT_PID, "models", true),
            new EnvBinding("PARLEY_BEDROCK_EMBEDDING_MODELS", BEDROCK_DEFAULT_PID, "embeddingModels", true),
            // The SDK's own variable names; they configure one instance, "anthropic" (more: configuration files).
            new EnvBinding("ANTHROPIC_API_KEY", ANTHROPIC_PID, ".apiKey", false),
            new EnvBinding("ANTHROPIC_BASE_URL", ANTHROPIC_PID, "baseUrl", false),
            new EnvBinding("ANTHROPIC_MODELS", ANTHROPIC_PID, "models", true),
            new EnvBinding("MISTRAL_API_KEY", MISTRAL_PID, ".apiKey", false),
            new EnvBinding("MISTRAL_BASE_URL", MISTRAL_PID, "baseUrl", false),
            new EnvBinding("MISTRAL_MODELS", MISTRAL_PID, "models", true),
            new EnvBinding("MISTRAL_EMBEDDING_MODELS", MISTRAL_PID, "embeddingModels", true),
            // Azure OpenAI (plugin dev.parley.provider.azure, a factory configuration): the names the Azure OpenAI
            // client libraries read, and azure-identity's EnvironmentCredential names for an Entra ID application.
            new EnvBinding("AZURE_OPENAI_ENDPOINT", AZURE_OPENAI_PID, "endpoint", false),
            new EnvBinding("AZURE_OPENAI_API_KEY", AZURE_OPENAI_PID, ".apiKey", false),
            new EnvBinding("AZURE_OPENAI_API_VERSION", AZURE_OPENAI_PID, "apiVersion", false),
            new EnvBinding("AZURE_OPENAI_DEPLOYMENTS", AZURE_OPENAI_PID, "deployments", true),
            new EnvBinding("AZURE_OPENAI_EMBEDDING_DEPLOYMENTS", AZURE_OPENAI_PID, "embeddingDeployments", true),
            new EnvBinding("AZURE_OPENAI_AD_TOKEN", AZURE_OPENAI_PID, ".bearerToken", false),
            new EnvBinding("AZURE_TENANT_ID", AZURE_OPENAI_PID, "tenantId", false),
            new EnvBinding("AZURE_CLIENT_ID", AZURE_OPENAI_PID, "clientId", false),
            new EnvBinding("AZURE_CLIENT_SECRET", AZURE_OPENAI_PID, ".clientSecret", false),
            new EnvBinding("PARLEY_DEFAULT_MODEL", "dev.parley.core", "defaultModel", false),
            new EnvBinding("PARLEY_MAX_MESSAGE_CHARS", "dev.parley.core", "maxMessageChars", false),
            new EnvBinding("PARLEY_DB_URL", STORE_PID, "url", false),
            new EnvBinding("PARLEY_DB_USER", STORE_PID, "user", false),
            new EnvBinding("PARLEY_DB_PASSWORD", STORE_PID, ".password", false),
            new EnvBinding("PARLEY_DB_POOL_SIZE", STORE_PID, "poolSize", false),
            // Secrets at rest: the master key never goes into service properties (dot keys) nor to disk (the
            // configuration store is in memory).
            new EnvBinding("PARLEY_MASTER_KEY", SECRETS_PID, ".masterKey", false),
            new EnvBinding("PARLEY_MASTER_KEY_PREVIOUS", SECRETS_PID, ".previousKeys", true),
            new EnvBinding("PARLEY_MASTER_KEY_FILE", SECRETS_PID, "masterKeyFile", false),
            new EnvBinding("PARLEY_MAX_BODY_BYTES", "dev.parley.web.rest", "maxBodyBytes", false),
            new EnvBinding("PARLEY_ADMIN_TOKEN", REST_PID, ADMIN_TOKEN_KEY, false),
            new EnvBinding("PARLEY_WS_ALLOWED_ORIGINS", "dev.parley.web.ws", "allowedOrigins", true),
            new EnvBinding("PARLEY_METRICS_ACCESS", OBSERVABILITY_PID, "metricsAccess", false),
            new EnvBinding("PARLEY_METRICS_TOKEN", OBSERVABILITY_PID, ".metricsToken", false),
            new EnvBinding("PARLEY_MODEL_PRICES", "dev.parley.core", "modelPrices", true),
            // The OpenTelemetry GenAI instrumentations' own switch for recording prompts and answers in spans.
            new EnvBinding("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "dev.parley.core", "captureContent",
                    false),
            // One id for the whole process: StartupConfiguration hands it to every PID in NodeIdentity.PIDS.
            new EnvBinding("PARLEY_NODE_ID", PLUGINS_PID, "nodeId", false),
            new EnvBinding("PARLEY_SHIPPED_PLUGINS", PLUGINS_PID, "shippedPlugins", false),
            new EnvBinding("PARLEY_TENANT_PROVIDERS_MAX", TENANT_PROVIDERS_PID, "max", false),
            // An entry lists hosts with commas ("openai=api.openai.com,proxy.example.com"), so entries are split at ';'.
            new EnvBinding("PARLEY_TENANT_PROVIDER_HOSTS", TENANT_PROVIDERS_PID, "hosts", ";"),
            new EnvBinding("PARLEY_REGISTRY_STORAGE", REGISTRY_PID, "storage", false),
            new EnvBinding("PARLEY_REGISTRY_S3_ENDPOINT", REGISTRY_S3_PID, "endpoint", false),
            new EnvBinding("PARLEY_REGISTRY_S3_REGION", REGISTRY_S3_PID, "region", false),
            new EnvBinding("PARLEY_REGISTRY_S3_BUCKET", REGISTRY_S3_PID, "bucket", false),
            new EnvBinding("PARLEY_REGISTRY_S3_ACCESS_KEY", REGISTRY_S3_PID, "accessKey", false),
            new EnvBinding("PARLEY_REGISTRY_S3_SECRET_KEY", REGISTRY_S3_PID, ".secretKey", false),
            // The log backend reads PARLEY_LOG_LEVEL itself as well, so the level holds from the first line on.
            new EnvBinding("PARLEY_LOG_LEVEL", LOGGING_PID, "rootLevel", false),
            new EnvBinding("PARLEY_LOG_LEVELS", LOGGING_PID, "levels", true),
            // The model router. Alias targets are separated by commas, so aliases are separated by ';'.
            new EnvBinding("PARLEY_MODEL_ALIASES", ROUTER_PID, "aliases", ";"),
            new EnvBinding("PARLEY_ROUTER_FALLBACK_ON", ROUTER_PID, "fallbackOn", true),
            new EnvBinding("PARLEY_ROUTER_RETRY_MAX_ATTEMPTS", ROUTER_PID, "retryMaxAttempts", false),
            new EnvBinding("PARLEY_ROUTER_RETRY_BASE_MS", ROUTER_PID, "retryBaseMillis", false),
            new EnvBinding("PARLEY_ROUTER_RETRY_MAX_MS", ROUTER_PID, "retryMaxMillis", false),
            new EnvBinding("PARLEY_ROUTER_MAX_RETRY_AFTER_MS", ROUTER_PID, "maxRetryAfterMillis", false),
            new EnvBinding("PARLEY_ROUTER_BREAKER_FAILURE_RATE", ROUTER_PID, "breakerFailureRatePercent", false),
            new EnvBinding("PARLEY_ROUTER_BREAKER_WINDOW", ROUTER_PID, "breakerWindow", false),
            new EnvBinding("PARLEY_ROUTER_BREAKER_OPEN_MS", ROUTER_PID, "breakerOpenMillis", false),
            new EnvBinding("PARLEY_ROUTER_BREAKER_HALF_OPEN_CALLS", ROUTER_PID, "breakerHalfOpenCalls", false),
            new EnvBinding("PARLEY_ROUTER_FIRST_TOKEN_TIMEOUT_MS", ROUTER_PID, "firstTokenTimeoutMillis", false),
            new EnvBinding("PARLEY_ROUTER_ANSWER_TIMEOUT_MS", ROUTER_PID, "answerTimeoutMillis", false),
            new EnvBinding("PARLEY_ROUTER_MAX_ANSWER_CHARS", ROUTER_PID, "maxAnswerChars", false),
            new EnvBinding("PARLEY_ROUTER_REFRESH_SECONDS", ROUTER_PID, "stateRefreshSeconds", false),
            // The guard around calls into plugins, and crash-loop protection of plugin starts (ADR 28).
            new EnvBinding("PARLEY_PLUGIN_CALL_TIMEOUT_MS", PLUGIN_GUARD_PID, "callTimeoutMillis", false),
            new EnvBinding("PARLEY_PLUGIN_MAX_CONCURRENT_CALLS", PLUGIN_GUARD_PID, "maxConcurrentCalls", false),
            new EnvBinding("PARLEY_PLUGIN_QUARANTINE", PLUGIN_GUARD_PID, "quarantine", false),
            new EnvBinding("PARLEY_PLUGIN_MAX_FAILED_STARTS", PLUGINS_PID, "maxFailedStarts", false),
            new EnvBinding("PARLEY_PLUGIN_START_PROBATION_SECONDS", PLUGINS_PID, "startProbationSeconds", false),
            // The rate limiter: in process unless a store is named; Redis shared by all nodes when it is.
            new EnvBinding("PARLEY_RATELIMIT_STORE", RATELIMIT_PID, "store", false),
            new EnvBinding("PARLEY_REDIS_URI", RATELIMIT_PID, "redisUri", false),
            new EnvBinding("PARLEY_REDIS_PASSWORD", RATELIMIT_PID, ".redisPassword", false),
            // The stream log (resumable streams) uses the same Redis when PARLEY_STREAMS_STORE=redis.
            new EnvBinding("PARLEY_STREAMS_STORE", STREAMS_PID, "store", false),
            new EnvBinding("PARLEY_REDIS_URI", STREAMS_PID, "redisUri", false),
            new EnvBinding("PARLEY_REDIS_PASSWORD", STREAMS_PID, ".redisPassword", false),
            new EnvBinding("PARLEY_RATELIMIT_FAIL_MODE", RATELIMIT_PID, "failMode", false),
            new EnvBinding("PARLEY_RATELIMIT_TIMEOUT_MS", RATELIMIT_PID, "timeoutMillis", false),
            // The request limits: per credential, user, tenant (with per-tenant overrides) and sign-in address.
            new EnvBinding("PARLEY_RATELIMIT_KEY_RPM", REQUEST_LIMITS_PID, "keyRequestsPerMinute", false),
            new EnvBinding("PARLEY_RATELIMIT_KEY_BURST", REQUEST_LIMITS_PID, "keyBurst", false),
            new EnvBinding("PARLEY_RATELIMIT_USER_RPM", REQUEST_LIMITS_PID, "userRequestsPerMinute", false),
            new EnvBinding("PARLEY_RATELIMIT_USER_BURST", REQUEST_LIMITS_PID, "userBurst", false),
            new EnvBinding("PARLEY_RATELIMIT_TENANT_RPM", REQUEST_LIMITS_PID, "tenantRequestsPerMinute", false),
            new EnvBinding("PARLEY_RATELIMIT_TENANT_BURST", REQUEST_LIMITS_PID, "tenantBurst", false),
            new EnvBinding("PARLEY_RATELIMIT_TENANTS", REQUEST_LIMITS_PID, "tenantLimits", true),
            new EnvBinding("PARLEY_RATELIMIT_SIGNIN_RPM", REQUEST_LIMITS_PID, "signInRequestsPerMinute", false),
            new EnvBinding("PARLEY_RATELIMIT_SIGNIN_BURST", REQUEST_LIMITS_PID, "signInBurst", false),
            // Proxies whose X-Forwarded-For names the client (sign-in limits, audit trail, logs).
            new EnvBinding("PARLEY_TRUSTED_PROXIES", TRUSTED_PROXIES_PID, "trustedProxies", true),
            // Token and per-model limits, decided in core where the model and the tokens are known.
            new EnvBinding("PARLEY_RATELIMIT_KEY_TPM", CHAT_LIMITS_PID, "keyTokensPerMinute", false),
            new EnvBinding("PARLEY_RATELIMIT_USER_TPM", CHAT_LIMITS_PID, "userTokensPerMinute", false),
            new EnvBinding("PARLEY_RATELIMIT_TENANT_TPM", CHAT_LIMITS_PID, "tenantTokensPerMinute", false),
            new EnvBinding("PARLEY_RATELIMIT_MODELS", CHAT_LIMITS_PID, "modelLimits", true),
            // The audit trail's retention; its queue and batch sizes are set through config files.
            new EnvBinding("PARLEY_AUDIT_RETENTION_DAYS", "dev.parley.audit", "retentionDays", false),
            // The built-in sign-in. The bootstrap password is a secret (dot key): never a service property.
            new EnvBinding("PARLEY_BOOTSTRAP_ADMIN_PASSWORD", IDENTITY_PID, ".bootstrapAdminPassword", false),
            new EnvBinding("PARLEY_AUTH_ISSUER", IDENTITY_PID, "issuer", false),
            new EnvBinding("PARLEY_AUTH_ACCESS_TOKEN_MINUTES", IDENTITY_PID, "accessTokenMinutes", false),
            new EnvBinding("PARLEY_AUTH_REFRESH_TOKEN_DAYS", IDENTITY_PID, "refreshTokenDays", false),
            new EnvBinding("PARLEY_AUTH_LOCKOUT_THRESHOLD", IDENTITY_PID, "lockoutThreshold", false),
            new EnvBinding("PARLEY_AUTH_LOCKOUT_MINUTES", IDENTITY_PID, "lockoutMinutes", false),
            new EnvBinding("PARLEY_PASSWORD_MIN_LENGTH", IDENTITY_PID, "passwordMinLength", false));

    /** @param separator null for a single value; else the value is a list split at this separator */
    record EnvBinding(String variable, String pid, String key, String separator) {
        EnvBinding(String variable, String pid, String key, boolean list) {
            this(variable, pid, key, list ? "," : null);
        }

        boolean list() {
            return separator != null;
        }
    }

    /** A file that could not be used, and why. */
    record Problem(Path file, String reason) {
    }

    record Result(Map<String, Map<String, Object>> configurations, List<Problem> problems) {
    }

    /**
     * What the distribution ({@code parley.distribution}, set by the launcher from its jar) changes in the
     * defaults: a gateway runs no cluster-wide maintenance job (the audit retention purge, the budget spend purge);
     * the workers do, and are ready without core's and the shipped plugins' checks, which they do not carry
     * (docs/architecture.md, "Distributions"). A value a file or the environment set is kept.
     */
    static void distributionDefaults(String distribution, Map<String, Map<String, Object>> byPid) {
        if ("worker".equals(distribution)) {
            // Ready means the database answers and what the worker carries is served; it has no core and ships no
            // plugins, whose checks the other distributions require.
            byPid.computeIfAbsent(REST_PID, k -> new LinkedHashMap<>()).putIfAbsent("requiredReadyChecks",
                    new String[] { "Parley store", "Parley front ends" });
        }
        if (!"gateway".equals(distribution)) {
            return;
        }
        byPid.computeIfAbsent("dev.parley.audit", k -> new LinkedHashMap<>()).putIfAbsent("purgeIntervalMinutes", "0");
        byPid.computeIfAbsent("dev.parley.budgets", k -> new LinkedHashMap<>()).putIfAbsent("purgeIntervalSeconds", "0");
    }

    private final ObjectMapper json = new ObjectMapper();

    Result compute(Path configDir, Map<String, String> env) {
        Map<String, Map<String, Object>> byPid = new TreeMap<>();
        // The REST whiteboard serves nothing until it is configured.
        byPid.computeIfAbsent(REST_WHITEBOARD_PID, k -> new LinkedHashMap<>()).put("jersey.context.path", "/");

        var problems = new ArrayList<Problem>();
        for (Path file : jsonFiles(configDir, problems)) {
            try {
                merge(byPid, read(file));
            } catch (IOException | IllegalArgumentException e) {
                problems.add(new Problem(file, message(e)));
            }
        }
        for (EnvBinding b : ENV) {
            String value = env.get(b.variable());
            if (value != null && !value.isBlank()) {
                Object v = b.list() ? Arrays.stream(value.split(java.util.regex.Pattern.quote(b.separator())))
                        .map(String::trim).filter(s -> !s.isEmpty())
                        .toArray(String[]::new) : value.trim();
                byPid.computeIfAbsent(b.pid(), k -> new LinkedHashMap<>()).put(b.key(), v);
            }
        }
        // The S3 registry storage runs only when the registry uses it; then it is always configured, so that missing
        // settings are reported by the storage itself instead of the registry waiting for a storage that never starts.
        Map<String, Object> registry = byPid.get(REGISTRY_PID);
        String storage = registry == null || registry.get("storage") == null ? null : registry.get("storage").toString().trim();
        if ("s3".equals(storage)) {
            byPid.computeIfAbsent(REGISTRY_S3_PID, k -> new LinkedHashMap<>());
        } else {
            byPid.remove(REGISTRY_S3_PID);
        }
        // DS binds the registry's storage by the reference filter 'storage.target'. The registry derives it from
        // 'storage' as well, but only once its own configuration plugin is registered; writing it here makes the
        // choice hold from the first activation. An explicit filter is kept.
        if (storage != null && STORAGE_KIND.matcher(storage).matches() && registry.get("storage.target") == null) {
            registry.put("storage", storage);
            registry.put("storage.target", "(parley.registry.storage=" + storage + ")");
        }
        // The OpenAI provider is configured only when told where or how to connect: with neither, Parley runs offline.
        Map<String, Object> openai = byPid.get(OPENAI_PID);
        if (openai != null && isBlank(openai.get(".apiKey")) && isBlank(openai.get("apiKey")) && isBlank(openai.get("baseUrl"))) {
            byPid.remove(OPENAI_PID);
        }
        // Likewise the default Ollama instance: only when told where the server is (or given a token for it).
        Map<String, Object> ollama = byPid.get(OLLAMA_DEFAULT_PID);
        if (ollama != null && isBlank(ollama.get("baseUrl")) && isBlank(ollama.get(".apiKey"))) {
            byPid.remove(OLLAMA_DEFAULT_PID);
        }
        if (ollama != null && ollama.get("baseUrl") instanceof String url && !url.contains("://")) {
            ollama.put("baseUrl", "http://" + url.trim()); // OLLAMA_HOST is often host:port
        }
        // The Gemini plugin needs a key: without one its default instance is not configured at all.
        Map<String, Object> gemini = byPid.get(GEMINI_PID);
        if (gemini != null && isBlank(gemini.get(".apiKey"))) {
            byPid.remove(GEMINI_PID);
        }
        // The default Bedrock instance runs only when told which region or endpoint to use; credentials alone (which
        // the AWS default chain may find anyway) do not start it.
        Map<String, Object> bedrock = byPid.get(BEDROCK_DEFAULT_PID);
        if (bedrock != null && isBlank(bedrock.get("region")) && isBlank(bedrock.get("endpoint"))) {
            byPid.remove(BEDROCK_DEFAULT_PID);
        }
        // Likewise the default Anthropic instance, which then answers as provider "anthropic" unless a file says else.
        Map<String, Object> anthropic = byPid.get(ANTHROPIC_PID);
        if (anthropic != null && isBlank(anthropic.get(".apiKey")) && isBlank(anthropic.get("baseUrl"))) {
            byPid.remove(ANTHROPIC_PID);
        } else if (anthropic != null) {
            anthropic.putIfAbsent("id", "anthropic");
            anthropic.putIfAbsent("parley.provider.id", anthropic.get("id"));
        }
        // The Mistral plugin's default instance: only when given a key or told where the server is.
        Map<String, Object> mistral = byPid.get(MISTRAL_PID);
        if (mistral != null && isBlank(mistral.get(".apiKey")) && isBlank(mistral.get("baseUrl"))) {
            byPid.remove(MISTRAL_PID);
        }
        azureDefaults(byPid.get(AZURE_OPENAI_PID));
        if (byPid.containsKey(AZURE_OPENAI_PID) && isBlank(byPid.get(AZURE_OPENAI_PID).get("endpoint"))) {
            // Without an endpoint there is nothing to talk to (AZURE_TENANT_ID alone may be meant for other tools).
            byPid.remove(AZURE_OPENAI_PID);
        }
        return new Result(byPid, problems);
    }

    /** The factory PID and name of {@code factoryPid~name}, or null for a plain PID. */
    static String[] factoryInstance(String pid) {
        int tilde = pid.indexOf('~');
        if (tilde <= 0 || tilde == pid.length() - 1) {
            return null;
        }
        return new String[] {pid.substring(0, tilde), pid.substring(tilde + 1)};
    }

    /**
     * The environment's Azure OpenAI instance: its id, and the authentication its secrets imply (an API key wins over
     * an Entra ID client secret, which wins over a static token), unless set explicitly.
     */
    private static void azureDefaults(Map<String, Object> azure) {
        if (azure == null) {
            return;
        }
        azure.putIfAbsent("id", "azure-openai");
        azure.putIfAbsent("parley.provider.id", azure.get("id"));
        if (isBlank(azure.get("auth"))) {
            if (!isBlank(azure.get(".apiKey"))) {
                azure.put("auth", "api-key");
            } else if (!isBlank(azure.get(".clientSecret"))) {
                azure.put("auth", "entra-client-credentials");
            } else if (!isBlank(azure.get(".bearerToken"))) {
                azure.put("auth", "bearer-token");
            }
        }
    }

    private static boolean isBlank(Object o) {
        return o == null || o.toString().isBlank();
    }

    private static String message(Exception e) {
        if (e instanceof JsonProcessingException jpe) {
            // The parser quotes the word it could not read, which in a configuration file is often an unquoted
            // secret; the reason is logged, so the word is left out (its position is enough to find it).
            String reason = UNRECOGNIZED_TOKEN.matcher(jpe.getOriginalMessage()).replaceAll("Unrecognized token (not shown)");
            return "not valid JSON: " + reason + " at line " + jpe.getLocation().getLineNr()
                    + ", column " + jpe.getLocation().getColumnNr();
        }
        return e.getMessage();
    }

    private static List<Path> jsonFiles(Path dir, List<Problem> problems) {
        if (dir == null || !Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".json")).sorted().toList();
        } catch (IOException e) {
            problems.add(new Problem(dir, "cannot list directory: " + e.getMessage()));
            return List.of();
        }
    }

    /** A file is one JSON object: PID -> object of properties (strings, numbers, booleans, arrays of those). */
    private Map<String, Map<String, Object>> read(Path file) throws IOException {
        JsonNode root = json.readTree(file.toFile());
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("must be a JSON object of PID -> properties");
        }
        Map<String, Map<String, Object>> result = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext();) {
            var pid = it.next();
            if (!pid.getValue().isObject()) {
                throw new IllegalArgumentException("'" + pid.getKey() + "' must map to a JSON object of properties");
            }
            Map<String, Object> props = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> p = pid.getValue().fields(); p.hasNext();) {
                var prop = p.next();
                props.put(prop.getKey(), value(pid.getKey() + "." + prop.getKey(), prop.getValue()));
            }
            result.put(pid.getKey(), props);
        }
        return result;
    }

    private static Object value(String where, JsonNode node) {
        if (node.isTextual()) {
            return node.textValue();
        }
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        if (node.isIntegralNumber()) {
            return node.canConvertToInt() ? (Object) node.intValue() : (Object) node.longValue();
        }
        if (node.isNumber()) {
            return node.doubleValue();
        }
        if (node.isArray()) {
            var items = new ArrayList<String>();
            node.forEach(n -> {
                if (!n.isValueNode() || n.isNull()) {
                    throw new IllegalArgumentException("'" + where + "' may only hold plain values");
                }
                items.add(n.asText());
            });
            return items.toArray(String[]::new);
        }
        throw new IllegalArgumentException("'" + where + "' must be a string, number, boolean or array");
    }

    private static void merge(Map<String, Map<String, Object>> into, Map<String, Map<String, Object>> from) {
        from.forEach((pid, props) -> into.computeIfAbsent(LEGACY_PIDS.getOrDefault(pid, pid),
                k -> new LinkedHashMap<>()).putAll(props));
    }
}
