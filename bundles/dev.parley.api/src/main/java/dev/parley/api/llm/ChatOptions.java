package dev.parley.api.llm;

import java.util.List;

/**
 * Sampling and answer options; a null field means "provider default".
 *
 * @param toolChoice     whether and which tool the model must call (since 1.2)
 * @param responseFormat the shape of the answer (since 1.2)
 */
public record ChatOptions(Double temperature, Double topP, Integer maxTokens, List<String> stop, ToolChoice toolChoice,
        ResponseFormat responseFormat) {
    public static final ChatOptions DEFAULTS = new ChatOptions(null, null, null, List.of());

    public ChatOptions {
        stop = stop == null ? List.of() : List.copyOf(stop);
    }

    /** Sampling options only, as before 1.2. */
    public ChatOptions(Double temperature, Double topP, Integer maxTokens, List<String> stop) {
        this(temperature, topP, maxTokens, stop, null, null);
    }
}
