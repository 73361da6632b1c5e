package dev.parley.provider.anthropic.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * One Anthropic provider instance. A factory configuration: every instance (another key, another server) is a
 * configuration of its own with its own {@code id}. The API key goes in {@code .apiKey}: Declarative Services never
 * copies a key that starts with a dot into the service properties.
 */
@ObjectClassDefinition(
        name = "Parley Anthropic provider",
        description = "Claude models through the Anthropic Messages API (POST /v1/messages). One configuration per "
                + "instance; put the API key in the '.apiKey' property so it never becomes a service property.")
public @interface AnthropicProviderConfig {

    String FACTORY_PID = "dev.parley.provider.anthropic";

    @AttributeDefinition(name = "Provider id",
            description = "The id the router knows this instance by; unique among the providers. Default: anthropic.")
    String id() default "anthropic";

    @AttributeDefinition(name = "Base URL", description = "Root of the API, without /v1.")
    String baseUrl() default "https://api.anthropic.com";

    @AttributeDefinition(name = "API key (.apiKey)", type = AttributeType.PASSWORD, required = false,
            description = "Sent as x-api-key. Set it as '.apiKey' (dot first) so it is never a service property; "
                    + "never logged.")
    String _apiKey() default "";

    @AttributeDefinition(name = "Models", required = false,
            description = "Model ids to offer. Empty: list them with GET /v1/models.")
    String[] models() default {};

    @AttributeDefinition(name = "Default max output tokens", min = "1",
            description = "max_tokens for a model whose limit is not known (the vendor requires max_tokens; a "
                    + "request without maxTokens gets the model's limit).")
    int defaultMaxOutputTokens() default 8192;

    @AttributeDefinition(name = "Default context window", min = "1",
            description = "Context window for a model whose window is not known.")
    int defaultContextWindow() default 200000;

    @AttributeDefinition(name = "anthropic-version", description = "The API version header.")
    String anthropicVersion() default "2023-06-01";

    @AttributeDefinition(name = "Connect timeout (s)", min = "1")
    int connectTimeoutSeconds() default 10;

    @AttributeDefinition(name = "Answer timeout (s)", min = "1",
            description = "Longest time one answer may take, from the request to its last event.")
    int answerTimeoutSeconds() default 300;

    @AttributeDefinition(name = "Largest answer (characters)", min = "1024",
            description = "An answer whose text and tool arguments grow beyond this fails (upstream-protocol) and "
                    + "the upstream call is closed.")
    int maxAnswerChars() default 4 * 1024 * 1024;

    @AttributeDefinition(name = "Drain timeout (s)", min = "0",
            description = "When the provider stops (upgrade, reconfiguration, shutdown) answers already running may "
                    + "finish for this long before they are cut.")
    int drainTimeoutSeconds() default 30;
}
