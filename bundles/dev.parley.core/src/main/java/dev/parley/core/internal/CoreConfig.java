package dev.parley.core.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley core", description = "Chat orchestration: model routing, limits, shutdown.")
public @interface CoreConfig {
    /** The configuration PID of the chat service. */
    String PID = "dev.parley.core";

    @AttributeDefinition(name = "Default model",
            description = "Model or alias used when neither the request nor the conversation names one. "
                    + "Empty: the alias 'default' when there is one, else the first model of any provider, sorted by "
                    + "id.")
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

    @AttributeDefinition(name = "Model prices", required = false, description = "USD per million tokens, one entry "
            + "per model: 'model=input:output', e.g. 'gpt-4o-mini=0.15:0.60'. Turns on models listed here add to the "
            + "parley_chat_cost_usd_total metric. Environment: PARLEY_MODEL_PRICES, entries separated by commas.")
    String[] modelPrices() default {};

    @AttributeDefinition(name = "Record prompts and answers in traces", description = "Off by default: spans carry "
            + "model, token counts and timings only. On: the chat span also carries the prompt messages and the "
            + "answer (gen_ai.input.messages, gen_ai.output.messages), so whoever reads traces reads conversations. "
            + "Environment: OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true.")
    boolean captureContent() default false;

    @AttributeDefinition(name = "Answer tokens budgeted when none are set", description = "For a caller with a "
            + "budget: how many answer tokens (and their cost at the model's prices) a request that sets no maximum "
            + "reserves, when no default maximum is configured either; at most the model's own maximum. Settled to "
            + "what was used when the request ends.", min = "0")
    int budgetOutputTokens() default 1024;
}
