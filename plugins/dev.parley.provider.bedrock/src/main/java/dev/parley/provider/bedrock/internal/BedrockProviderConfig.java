package dev.parley.provider.bedrock.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * One Amazon Bedrock provider instance. A factory configuration: each instance (another account, region or
 * endpoint) is a configuration of its own with its own {@link #id()}.
 *
 * <p>The credentials' keys start with a dot ({@code .accessKeyId}, {@code .secretAccessKey}, {@code .sessionToken};
 * DS maps a leading underscore in a method name to a dot), so Declarative Services never copies them into the
 * service properties.
 */
@ObjectClassDefinition(
        name = "Parley Amazon Bedrock provider",
        description = "Chat models through the Amazon Bedrock Runtime Converse API and Amazon Titan text embeddings. "
                + "One configuration per instance (account, region or endpoint).")
public @interface BedrockProviderConfig {

    String FACTORY_PID = "dev.parley.provider.bedrock";

    @AttributeDefinition(name = "Provider id",
            description = "Short stable id of this instance, as the router names it. Unique among providers.")
    String id() default "bedrock";

    @AttributeDefinition(name = "Region", description = "AWS region the requests are signed for, e.g. us-east-1.")
    String region() default "us-east-1";

    @AttributeDefinition(name = "Endpoint", required = false,
            description = "Base URL of the Bedrock Runtime API. Empty: the region's endpoint "
                    + "(https://bedrock-runtime.<region>.amazonaws.com).")
    String endpoint() default "";

    @AttributeDefinition(name = "Access key id", required = false, type = AttributeType.PASSWORD,
            description = "With the secret access key: static credentials. Empty: the default AWS credentials chain "
                    + "(AWS_ACCESS_KEY_ID etc., profile files, container or instance role).")
    String _accessKeyId() default "";

    @AttributeDefinition(name = "Secret access key", required = false, type = AttributeType.PASSWORD,
            description = "Never logged, never a service property.")
    String _secretAccessKey() default "";

    @AttributeDefinition(name = "Session token", required = false, type = AttributeType.PASSWORD,
            description = "For temporary credentials only.")
    String _sessionToken() default "";

    @AttributeDefinition(name = "Models", required = false,
            description = "Model ids or inference profile ids to offer, e.g. anthropic.claude-3-5-haiku-20241022-v1:0. "
                    + "The Bedrock Runtime API has no model list, so this list is what the provider offers; empty "
                    + "offers a small default list.")
    String[] models() default {};

    @AttributeDefinition(name = "Embedding models", required = false,
            description = "Amazon Titan Text Embeddings models to offer. Empty: none.")
    String[] embeddingModels() default {"amazon.titan-embed-text-v2:0"};

    @AttributeDefinition(name = "Context window (tokens)", min = "1")
    int contextWindow() default 200000;

    @AttributeDefinition(name = "Max output tokens", min = "1")
    int maxOutputTokens() default 4096;

    @AttributeDefinition(name = "Connect timeout (s)", min = "1")
    int connectTimeoutSeconds() default 10;

    @AttributeDefinition(name = "Read timeout (s)", min = "1",
            description = "Longest silence from the server: while waiting for headers, and between two pieces of a "
                    + "streamed answer.")
    int readTimeoutSeconds() default 60;

    @AttributeDefinition(name = "Answer timeout (s)", min = "1",
            description = "Longest a whole answer (streamed or not, or one embedding) may take.")
    int answerTimeoutSeconds() default 300;

    @AttributeDefinition(name = "Largest answer (characters)", min = "1",
            description = "An answer whose text and tool-call arguments grow past this fails (upstream-protocol).")
    int maxAnswerChars() default 1_000_000;

    @AttributeDefinition(name = "Drain timeout (s)", min = "0",
            description = "When the provider stops (upgrade, reconfiguration, shutdown), answers already streaming may "
                    + "finish for this long before they are cut.")
    int drainTimeoutSeconds() default 30;

    @AttributeDefinition(name = "Max connections", min = "1",
            description = "Concurrent HTTP connections to Bedrock (each streamed answer holds one).")
    int maxConnections() default 64;
}
