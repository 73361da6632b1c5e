package dev.parley.core.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley core", description = "Chat orchestration: model routing, limits, shutdown.")
public @interface CoreConfig {
    /** The configuration PID of the chat service. */
    String PID = "dev.parley.core";

    @AttributeDefinition(name = "Default model",
            description = "Model used when neither the request nor the conversation names one. "
                    + "Empty: the first model of any provider, sorted by id.")
    String defaultModel() default "";

    @AttributeDefinition(name = "Maximum message length", description = "Longest user message accepted, in characters.",
            min = "1")
    int maxMessageChars() default 32000;

    @AttributeDefinition(name = "Drain timeout", description = "Seconds to let running turns finish on shutdown "
            + "before they are cancelled (and stored as interrupted).", min = "0")
    int drainTimeoutSeconds() default 20;

    @AttributeDefinition(name = "Default maximum output tokens", description = "Answer length cap used when a "
            + "request sets none. 0: the model's own maximum.", min = "0")
    int defaultMaxOutputTokens() default 0;
}
