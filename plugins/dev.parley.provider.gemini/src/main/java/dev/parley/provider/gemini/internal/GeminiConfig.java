package dev.parley.provider.gemini.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * One Gemini provider instance. A factory configuration: create one per key or server, each with its own {@code id}.
 */
@ObjectClassDefinition(
        name = "Parley Google Gemini provider",
        description = "Gemini chat and embedding models through the Gemini API (generativelanguage.googleapis.com, "
                + "v1beta). One configuration per provider instance; each needs its own id.")
public @interface GeminiConfig {

    String PID = "dev.parley.provider.gemini";

    @AttributeDefinition(name = "Provider id",
            description = "The provider id the router and clients use (providerId/model). Unique per instance.")
    String id() default "gemini";

    @AttributeDefinition(name = "API key", type = AttributeType.PASSWORD,
            description = "Sent as x-goog-api-key. Stored under '.apiKey' so it is never a service property; never "
                    + "logged.")
    String _apiKey() default "";

    @AttributeDefinition(name = "Base URL", description = "Root of the API, including the version.")
    String baseUrl() default "https://generativelanguage.googleapis.com/v1beta";

    @AttributeDefinition(name = "Chat models", required = false,
            description = "Model ids to offer (e.g. gemini-2.5-flash). Empty: listed from GET {baseUrl}/models "
                    + "(models supporting generateContent).")
    String[] models() default {};

    @AttributeDefinition(name = "Embedding models", required = false,
            description = "Embedding model ids, each optionally with its default dimensions: "
                    + "gemini-embedding-001=3072. Empty: no embeddings.")
    String[] embeddingModels() default {"gemini-embedding-001=3072"};

    @AttributeDefinition(name = "Default context window", min = "1",
            description = "For configured models (listed models carry their inputTokenLimit).")
    int defaultContextWindow() default 1_048_576;

    @AttributeDefinition(name = "Default max output tokens", min = "1",
            description = "For configured models (listed models carry their outputTokenLimit).")
    int defaultMaxOutputTokens() default 65_536;

    @AttributeDefinition(name = "Connect timeout (s)", min = "1")
    int connectTimeoutSeconds() default 10;

    @AttributeDefinition(name = "Answer timeout (s)", min = "1",
            description = "Longest time one answer (streamed or whole) or one embedding call may take, from sending "
                    + "the request to its last byte.")
    int answerTimeoutSeconds() default 300;

    @AttributeDefinition(name = "Largest answer (bytes)", min = "1024",
            description = "An answer (the JSON of a whole one, the events of a streamed one, counted in "
                    + "characters) larger than this fails with upstream-protocol.")
    int maxAnswerBytes() default 8 * 1024 * 1024;

    @AttributeDefinition(name = "Drain timeout (s)", min = "0",
            description = "When the provider stops (upgrade, reconfiguration, shutdown) answers already running may "
                    + "finish for this long before they are cut.")
    int drainTimeoutSeconds() default 30;
}
