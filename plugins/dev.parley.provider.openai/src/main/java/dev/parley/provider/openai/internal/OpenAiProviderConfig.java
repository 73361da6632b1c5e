package dev.parley.provider.openai.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(
        name = "Parley OpenAI-compatible provider",
        description = "Chat models served by OpenAI or any server speaking the OpenAI Chat Completions API, one "
                + "provider per configuration (two keys, two servers side by side: give each its own provider id). "
                + "Without a configuration there is no provider (offline mode).")
public @interface OpenAiProviderConfig {

    /** A factory PID: every configuration is one provider instance; the environment configures {@code ~default}. */
    String FACTORY_PID = "dev.parley.provider.openai";

    @AttributeDefinition(name = "API key", type = AttributeType.PASSWORD, required = false,
            description = "Sent as 'Authorization: Bearer <key>'. Never logged.")
    String apiKey() default "";

    @AttributeDefinition(name = "Base URL", description = "Root of the API, without /chat/completions.")
    String baseUrl() default "https://api.openai.com/v1";

    @AttributeDefinition(name = "Models", required = false,
            description = "Model ids to offer. Empty: ask the upstream's GET /models (falls back to gpt-4o-mini, gpt-4o).")
    String[] models() default {};

    @AttributeDefinition(name = "Model capabilities", required = false,
            description = "What chat models accept beyond text, one entry per model: 'model=tools,vision,json_output' "
                    + "(any of them, at least one). Parley then refuses, before anything is sent or stored, "
                    + "an image to a model without vision, tools to one without tools, a response format to one "
                    + "without JSON output. Models not listed declare nothing and get everything passed through.")
    String[] modelCapabilities() default {};

    @AttributeDefinition(name = "Embedding models", required = false,
            description = "Embedding models to offer through POST /embeddings, one entry per model: "
                    + "'id=dimensions', optionally followed by ',batch=N' (inputs per upstream call, default 2048), "
                    + "',tokens=N' (tokens per input, default 8191) and ',reducible' (accepts 'dimensions'), e.g. "
                    + "'text-embedding-3-small=1536,reducible'. Empty: no embeddings.")
    String[] embeddingModels() default {};

    @AttributeDefinition(name = "Default context window", min = "1")
    int defaultContextWindow() default 128000;

    @AttributeDefinition(name = "Default max output tokens", min = "1")
    int defaultMaxOutputTokens() default 4096;

    @AttributeDefinition(name = "Connect timeout (s)", min = "1")
    int connectTimeoutSeconds() default 10;

    @AttributeDefinition(name = "Read timeout (s)",
            description = "Longest wait for response headers, and longest silence inside a stream or an answer body. "
                    + "A non-streamed answer (a client that did not ask for a stream) comes with its headers once the "
                    + "model has finished, so this is also the longest it may take.", min = "1")
    int readTimeoutSeconds() default 120;

    @AttributeDefinition(name = "First token timeout (s)",
            description = "Longest wait from sending a streamed request to the first piece of the answer. "
                    + "Non-streamed answers wait up to the read timeout instead.", min = "1")
    int firstTokenTimeoutSeconds() default 60;

    @AttributeDefinition(name = "Largest non-streamed answer (bytes)", min = "1024",
            description = "A non-streamed answer body larger than this fails the answer (upstream-protocol) and closes "
                    + "the connection, from its Content-Length or as soon as that much has arrived.")
    int maxAnswerBytes() default 8 * 1024 * 1024;

    @AttributeDefinition(name = "Organization", required = false, description = "Sent as OpenAI-Organization.")
    String organization() default "";

    @AttributeDefinition(name = "Provider id", description = "Short stable id of this provider instance, unique among "
            + "the providers (the router names targets 'providerId/model'); set 'parley.provider.id' to the same value.")
    String providerId() default "openai";

    @AttributeDefinition(name = "Drain timeout (s)", min = "0",
            description = "When the provider stops (upgrade, reconfiguration, shutdown) answers already streaming may "
                    + "finish for this long before they are cut.")
    int drainTimeoutSeconds() default 30;
}
