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
    static final String OPENAI_PID = "dev.parley.provider.openai";
    static final String REST_WHITEBOARD_PID = "JakartarsServletWhiteboardRuntimeComponent";
    static final String REST_PID = "dev.parley.web.rest";
    static final String OBSERVABILITY_PID = "dev.parley.observability";
    /** The admin API's bearer token (a secret: dotted, never a service property). */
    static final String ADMIN_TOKEN_KEY = ".adminToken";
    static final String REGISTRY_PID = "dev.parley.registry";
    static final String STORE_PID = "dev.parley.store.jdbc";
    static final String PLUGINS_PID = "dev.parley.plugins";
    static final String REGISTRY_S3_PID = "dev.parley.registry.s3";
    static final String LOGGING_PID = "dev.parley.logging";
    /**
     * A PID written {@code factoryPid~name} is one instance of a factory configuration (the convention of the OSGi
     * Configurator and Configuration Admin 1.6's named factory configurations); StartupConfiguration creates it with
     * {@code getFactoryConfiguration(factoryPid, name, "?")}. Files may use the same form.
     */
    static final char FACTORY_SEPARATOR = '~';
    /** The one Azure OpenAI provider instance the environment variables configure. */
    static final String AZURE_OPENAI_PID = "dev.parley.provider.azure~default";
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
            new EnvBinding("PARLEY_MAX_BODY_BYTES", "dev.parley.web.rest", "maxBodyBytes", false),
            new EnvBinding("PARLEY_ADMIN_TOKEN", REST_PID, ADMIN_TOKEN_KEY, false),
            new EnvBinding("PARLEY_METRICS_ACCESS", OBSERVABILITY_PID, "metricsAccess", false),
            new EnvBinding("PARLEY_METRICS_TOKEN", OBSERVABILITY_PID, ".metricsToken", false),
            new EnvBinding("PARLEY_MODEL_PRICES", "dev.parley.core", "modelPrices", true),
            // The OpenTelemetry GenAI instrumentations' own switch for recording prompts and answers in spans.
            new EnvBinding("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "dev.parley.core", "captureContent",
                    false),
            // One id for the whole process: StartupConfiguration hands it to every PID in NodeIdentity.PIDS.
            new EnvBinding("PARLEY_NODE_ID", PLUGINS_PID, "nodeId", false),
            new EnvBinding("PARLEY_REGISTRY_STORAGE", REGISTRY_PID, "storage", false),
            new EnvBinding("PARLEY_REGISTRY_S3_ENDPOINT", REGISTRY_S3_PID, "endpoint", false),
            new EnvBinding("PARLEY_REGISTRY_S3_REGION", REGISTRY_S3_PID, "region", false),
            new EnvBinding("PARLEY_REGISTRY_S3_BUCKET", REGISTRY_S3_PID, "bucket", false),
            new EnvBinding("PARLEY_REGISTRY_S3_ACCESS_KEY", REGISTRY_S3_PID, "accessKey", false),
            new EnvBinding("PARLEY_REGISTRY_S3_SECRET_KEY", REGISTRY_S3_PID, ".secretKey", false),
            // The log backend reads PARLEY_LOG_LEVEL itself as well, so the level holds from the first line on.
            new EnvBinding("PARLEY_LOG_LEVEL", LOGGING_PID, "rootLevel", false),
            new EnvBinding("PARLEY_LOG_LEVELS", LOGGING_PID, "levels", true));

    record EnvBinding(String variable, String pid, String key, boolean list) {
    }

    /** A file that could not be used, and why. */
    record Problem(Path file, String reason) {
    }

    record Result(Map<String, Map<String, Object>> configurations, List<Problem> problems) {
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
                Object v = b.list() ? Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty())
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
        azureDefaults(byPid.get(AZURE_OPENAI_PID));
        if (byPid.containsKey(AZURE_OPENAI_PID) && isBlank(byPid.get(AZURE_OPENAI_PID).get("endpoint"))) {
            // Without an endpoint there is nothing to talk to (AZURE_TENANT_ID alone may be meant for other tools).
            byPid.remove(AZURE_OPENAI_PID);
        }
        return new Result(byPid, problems);
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
        from.forEach((pid, props) -> into.computeIfAbsent(pid, k -> new LinkedHashMap<>()).putAll(props));
    }
}
