package dev.parley.provider.ollama.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * One Ollama server. A factory configuration: every instance (two servers, one local and one behind a proxy) is its
 * own provider with its own {@link #id()}.
 */
@ObjectClassDefinition(
        name = "Parley Ollama provider",
        description = "Chat and embedding models served by an Ollama server through its native API "
                + "(/api/chat, /api/embed, /api/tags). One configuration per server.")
public @interface OllamaProviderConfig {

    String FACTORY_PID = "dev.parley.provider.ollama";

    @AttributeDefinition(name = "Provider id",
            description = "Short stable id of this instance; the router names models as <id>/<model>. "
                    + "Each instance needs its own.")
    String id() default "ollama";

    @AttributeDefinition(name = "Base URL", description = "Root of the Ollama server, without /api.")
    String baseUrl() default "http://localhost:11434";

    /**
     * Becomes the configuration key {@code .apiKey} (a leading underscore is a dot in OSGi metatype names): a
     * key starting with a dot is private to the component and never a service property.
     */
    @AttributeDefinition(name = "Bearer token", type = AttributeType.PASSWORD, required = false,
            description = "Ollama itself has no API key. A proxy in front of it may want one: sent as "
                    + "'Authorization: Bearer <token>'. Never logged, never a service property.")
    String _apiKey() default "";

    @AttributeDefinition(name = "Chat models", required = false,
            description = "Model names to offer (e.g. llama3.2, qwen2.5:7b). Empty: the models the server lists "
                    + "at GET /api/tags, except embedding-only ones.")
    String[] models() default {};

    @AttributeDefinition(name = "Embedding models", required = false,
            description = "Model names offered for embeddings through POST /api/embed (e.g. nomic-embed-text). "
                    + "Empty: the listed models whose family is a BERT-style embedding family.")
    String[] embeddingModels() default {};

    @AttributeDefinition(name = "Context window (tokens)", min = "1",
            description = "What the router assumes for every model (Ollama's num_ctx default is small; raise it "
                    + "here and in the Modelfile together).")
    int contextWindow() default 8192;

    @AttributeDefinition(name = "Max output tokens", min = "1")
    int maxOutputTokens() default 4096;

    @AttributeDefinition(name = "Embedding dimensions", min = "1",
            description = "The vector length the embedding models give (768 for nomic-embed-text).")
    int embeddingDimensions() default 768;

    @AttributeDefinition(name = "Connect timeout (s)", min = "1")
    int connectTimeoutSeconds() default 10;

    @AttributeDefinition(name = "Response timeout (s)", min = "1",
            description = "Longest wait for the response headers. Ollama sends them with the first token, so this "
                    + "covers loading the model and reading the prompt.")
    int responseTimeoutSeconds() default 120;

    @AttributeDefinition(name = "Whole answer timeout (s)", min = "1",
            description = "Longest an answer (streamed or not) or an embedding call may take from start to end.")
    int answerTimeoutSeconds() default 600;

    @AttributeDefinition(name = "Largest answer (bytes)", min = "1024",
            description = "A response body (the NDJSON stream or a whole answer) larger than this fails the answer "
                    + "(upstream-protocol) and closes the connection.")
    int maxAnswerBytes() default 8 * 1024 * 1024;

    @AttributeDefinition(name = "Drain timeout (s)", min = "0",
            description = "When the provider stops (upgrade, reconfiguration, shutdown) answers already streaming "
                    + "may finish for this long before they are cut with 'unavailable'.")
    int drainTimeoutSeconds() default 30;
}
