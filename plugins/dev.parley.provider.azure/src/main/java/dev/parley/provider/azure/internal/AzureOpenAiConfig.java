package dev.parley.provider.azure.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * One Azure OpenAI resource (or one credential for it). A factory configuration: each instance is a provider of its
 * own, so two resources or two keys run side by side. Secrets go in keys starting with a dot ({@code .apiKey},
 * {@code .clientSecret}, {@code .bearerToken}), which Declarative Services never copies into service properties.
 */
@ObjectClassDefinition(
        name = "Parley Azure OpenAI provider",
        description = "Chat and embedding models served by the deployments of one Azure OpenAI resource. "
                + "Secrets are set as .apiKey, .clientSecret or .bearerToken (never service properties, never logged).")
public @interface AzureOpenAiConfig {

    String FACTORY_PID = "dev.parley.provider.azure";

    @AttributeDefinition(name = "Provider id",
            description = "Short stable id of this instance, used by the router (provider/model). Unique per instance.")
    String id() default "azure-openai";

    @AttributeDefinition(name = "Endpoint",
            description = "The resource endpoint, e.g. https://my-resource.openai.azure.com (without /openai).")
    String endpoint() default "";

    @AttributeDefinition(name = "API version",
            description = "The api-version query parameter of the deployment routes (a GA version by default).")
    String apiVersion() default "2024-10-21";

    @AttributeDefinition(name = "Path style", options = {
            @org.osgi.service.metatype.annotations.Option(label = "Deployments (/openai/deployments/{deployment}/...)",
                    value = "deployments"),
            @org.osgi.service.metatype.annotations.Option(label = "v1 (/openai/v1/..., deployment in the body)",
                    value = "v1") },
            description = "deployments: the classic routes with api-version; v1: the GA v1 routes, no api-version.")
    String pathStyle() default "deployments";

    @AttributeDefinition(name = "Authentication", options = {
            @org.osgi.service.metatype.annotations.Option(label = "API key (api-key header)", value = "api-key"),
            @org.osgi.service.metatype.annotations.Option(label = "Entra ID client credentials", value = "entra-client-credentials"),
            @org.osgi.service.metatype.annotations.Option(label = "Static bearer token", value = "bearer-token") },
            description = "How requests are authenticated.")
    String auth() default "api-key";

    @AttributeDefinition(name = "API key", type = AttributeType.PASSWORD, required = false,
            description = "Key .apiKey. Sent as the api-key header.")
    // A method named _x is the property ".x" (Declarative Services' name mapping): secrets are dot-prefixed keys, so they
    // are never service properties, even when an admin sets them.
    String _apiKey() default "";

    @AttributeDefinition(name = "Entra ID tenant", required = false)
    String tenantId() default "";

    @AttributeDefinition(name = "Entra ID client id", required = false)
    String clientId() default "";

    @AttributeDefinition(name = "Entra ID client secret", type = AttributeType.PASSWORD, required = false,
            description = "Key .clientSecret.")
    String _clientSecret() default "";

    @AttributeDefinition(name = "Entra ID authority host",
            description = "Where tokens are requested: {authorityHost}/{tenant}/oauth2/v2.0/token.")
    String authorityHost() default "https://login.microsoftonline.com";

    @AttributeDefinition(name = "Token scope")
    String tokenScope() default "https://cognitiveservices.azure.com/.default";

    @AttributeDefinition(name = "Static bearer token", type = AttributeType.PASSWORD, required = false,
            description = "Key .bearerToken. Sent as Authorization: Bearer; for tokens obtained outside Parley.")
    String _bearerToken() default "";

    @AttributeDefinition(name = "Chat deployments", required = false,
            description = "model=deployment pairs (or just the deployment name, when clients use it as the model id).")
    String[] deployments() default {};

    @AttributeDefinition(name = "Embedding deployments", required = false,
            description = "model=deployment[:dimensions] pairs, e.g. text-embedding-3-small=emb-small:1536.")
    String[] embeddingDeployments() default {};

    @AttributeDefinition(name = "Context window", min = "1")
    int contextWindow() default 128000;

    @AttributeDefinition(name = "Max output tokens", min = "1")
    int maxOutputTokens() default 16384;

    @AttributeDefinition(name = "Send max_completion_tokens",
            description = "Send the answer limit as max_completion_tokens (o-series deployments) instead of max_tokens.")
    boolean maxCompletionTokens() default false;

    @AttributeDefinition(name = "Connect timeout (s)", min = "1")
    int connectTimeoutSeconds() default 10;

    @AttributeDefinition(name = "Whole answer timeout (s)", min = "1",
            description = "Longest time from sending a request to the end of its answer (streamed or not).")
    int answerTimeoutSeconds() default 300;

    @AttributeDefinition(name = "Largest answer (characters)", min = "1024",
            description = "An answer (text plus tool-call arguments) longer than this is cut and fails (upstream-protocol).")
    int maxAnswerChars() default 1_000_000;

    @AttributeDefinition(name = "Drain timeout (s)", min = "0",
            description = "When the provider stops, answers already streaming may finish for this long.")
    int drainTimeoutSeconds() default 30;
}
