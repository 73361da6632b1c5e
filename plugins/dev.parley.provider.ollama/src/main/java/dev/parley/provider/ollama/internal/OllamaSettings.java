package dev.parley.provider.ollama.internal;

import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * The checked settings of one instance. {@code apiKey} (the optional bearer token) comes only from the private
 * configuration key {@code .apiKey}; {@link #toString()} never shows it.
 */
record OllamaSettings(String id, String baseUrl, String apiKey, List<String> models, List<String> embeddingModels,
        int contextWindow, int maxOutputTokens, int embeddingDimensions, Duration connectTimeout,
        Duration responseTimeout, Duration answerTimeout, long maxAnswerBytes, Duration drainTimeout) {

    static final String DEFAULT_BASE_URL = "http://localhost:11434";

    OllamaSettings {
        if (id == null || id.isBlank() || !id.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw new IllegalArgumentException("the provider id must be letters, digits, '.', '_' or '-', not '" + id
                    + "'");
        }
        URI uri = URI.create(baseUrl);
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("baseUrl must be an http(s) URL with a host");
        }
        models = List.copyOf(models);
        embeddingModels = List.copyOf(embeddingModels);
    }

    static OllamaSettings of(OllamaProviderConfig c, Object privateApiKey) {
        String url = c.baseUrl() == null || c.baseUrl().isBlank() ? DEFAULT_BASE_URL : c.baseUrl().trim();
        while (url.endsWith("/")) {
            url = url.substring(0, url.length() - 1);
        }
        if (url.endsWith("/api")) {
            url = url.substring(0, url.length() - 4); // langchain4j adds /api/... itself
        }
        String key = privateApiKey instanceof String k && !k.isBlank() ? k.trim() : null;
        String id = c.id() == null || c.id().isBlank() ? "ollama" : c.id().trim();
        int contextWindow = Math.max(1, c.contextWindow());
        return new OllamaSettings(id, url, key, OllamaProvider.list(c.models()),
                OllamaProvider.list(c.embeddingModels()), contextWindow,
                Math.max(1, Math.min(c.maxOutputTokens(), contextWindow)), Math.max(1, c.embeddingDimensions()),
                Duration.ofSeconds(Math.max(1, c.connectTimeoutSeconds())),
                Duration.ofSeconds(Math.max(1, c.responseTimeoutSeconds())),
                Duration.ofSeconds(Math.max(1, c.answerTimeoutSeconds())),
                Math.max(1024, c.maxAnswerBytes()), Duration.ofSeconds(Math.max(0, c.drainTimeoutSeconds())));
    }

    @Override
    public String toString() {
        return "OllamaSettings[id=" + id + ", baseUrl=" + baseUrl + ", apiKey=" + (apiKey == null ? "none" : "set")
                + ", models=" + models + ", embeddingModels=" + embeddingModels + "]";
    }
}
