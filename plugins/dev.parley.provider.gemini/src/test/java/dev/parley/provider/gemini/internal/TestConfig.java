package dev.parley.provider.gemini.internal;

import java.lang.annotation.Annotation;
import java.util.HashMap;
import java.util.Map;

/** A {@link GeminiConfig} for tests, with the properties map DS would pass beside it. */
final class TestConfig implements GeminiConfig {
    String id = "gemini";
    String baseUrl;
    String[] models = {};
    String[] embeddingModels = {"gemini-embedding-001=3072"};
    int answerTimeoutSeconds = 30;
    int maxAnswerBytes = 8 * 1024 * 1024;
    int drainTimeoutSeconds = 5;
    String apiKey;

    TestConfig(String baseUrl, String apiKey) {
        this.baseUrl = baseUrl;
        this.apiKey = apiKey;
    }

    Map<String, Object> properties() {
        Map<String, Object> p = new HashMap<>();
        p.put("id", id);
        p.put("baseUrl", baseUrl);
        if (apiKey != null) {
            p.put(".apiKey", apiKey);
        }
        return p;
    }

    @Override public String id() { return id; }
    @Override public String _apiKey() { return ""; }
    @Override public String baseUrl() { return baseUrl; }
    @Override public String[] models() { return models; }
    @Override public String[] embeddingModels() { return embeddingModels; }
    @Override public int defaultContextWindow() { return 1_048_576; }
    @Override public int defaultMaxOutputTokens() { return 65_536; }
    @Override public int connectTimeoutSeconds() { return 5; }
    @Override public int answerTimeoutSeconds() { return answerTimeoutSeconds; }
    @Override public int maxAnswerBytes() { return maxAnswerBytes; }
    @Override public int drainTimeoutSeconds() { return drainTimeoutSeconds; }
    @Override public Class<? extends Annotation> annotationType() { return GeminiConfig.class; }
}
