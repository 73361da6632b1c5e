package dev.parley.provider.mistral.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * One Mistral AI provider instance. A factory configuration: create one per key or server, each with its own
 * {@link #id()}. The API key lives in the property {@code .apiKey} (leading dot), so Declarative Services never
 * publishes it as a service property.
 */
@ObjectClassDefinition(
        name = "Parley Mistral AI provider",
        description = "Chat and embedding models from Mistral AI's La Plateforme API (or a server speaking it). "
                + "One configuration per instance; several may run side by side.")
public @interface MistralProviderConfig {

    String FACTORY_PID = "dev.parley.provider.mistral";

    /** The configuration key holding the API key; the dot keeps it out of the service properties. */
    String API_KEY = ".apiKey";

    @AttributeDefinition(name = "Provider id",
            description = "Short stable id of this instance, used by the router (e.g. mistral, mistral-eu).")
    String id() default "mistral";

    @AttributeDefinition(name = "Base URL", description = "Root of the API, without /chat/completions.")
    String baseUrl() default "https://api.mistral.ai/v1";

    @AttributeDefinition(name = "API key", type = AttributeType.PASSWORD, required = false,
            description = "Set it under the key '.apiKey' (with the dot). Sent as 'Authorization: Bearer <key>'. "
                    + "Never logged, never a service property.")
    String _apiKey() default "";

    @AttributeDefinition(name = "Chat models", required = false,
            description = "Model ids to offer. Empty: list them from GET /models (embedding models left out).")
    String[] models() default {};

    @AttributeDefinition(name = "Embedding models", required = false,
            description = "Embedding model ids to offer (dimensions known for mistral-embed and codestral-embed).")
    String[] embeddingModels() default {"mistral-embed"};

    @AttributeDefinition(name = "Vision models", required = false,
            description = "Model ids (or prefixes ending in '*') that take images; the rest are offered without "
                    + "the VISION capability.")
    String[] visionModels() default {"pixtral-*", "mistral-small-*", "mistral-medium-*", "mistral-large-2411*",
        "mistral-large-latest", "magistral-*", "ministral-*"};

    @AttributeDefinition(name = "Default context window", min = "1")
    int defaultContextWindow() default 128000;

    @AttributeDefinition(name = "Default max output tokens", min = "1")
    int defaultMaxOutputTokens() default 8192;

    @AttributeDefinition(name = "Connect timeout (s)", min = "1")
    int connectTimeoutSeconds() default 10;

    @AttributeDefinition(name = "Answer timeout (s)", min = "1",
            description = "Longest a whole answer may take, streamed or not, from sending the request to its end.")
    int answerTimeoutSeconds() default 300;

    @AttributeDefinition(name = "Largest answer (bytes)", min = "1024",
            description = "An answer (the SSE stream or the JSON body) larger than this fails with upstream-protocol.")
    int maxAnswerBytes() default 8 * 1024 * 1024;

    @AttributeDefinition(name = "Drain timeout (s)", min = "0",
            description = "When the provider stops (upgrade, reconfiguration, shutdown) answers already streaming "
                    + "may finish for this long before they are cut.")
    int drainTimeoutSeconds() default 30;

    @AttributeDefinition(name = "Safe prompt",
            description = "Sends safe_prompt: true, so Mistral prepends its safety system prompt.")
    boolean safePrompt() default false;

    @AttributeDefinition(name = "Random seed", required = false,
            description = "Sent as random_seed for deterministic sampling; -1: not sent.")
    int randomSeed() default -1;
}
