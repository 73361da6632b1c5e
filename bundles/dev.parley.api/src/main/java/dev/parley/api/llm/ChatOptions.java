package dev.parley.api.llm;

import java.util.List;

/** Sampling options; a null field means "provider default". */
public record ChatOptions(Double temperature, Double topP, Integer maxTokens, List<String> stop) {
    public static final ChatOptions DEFAULTS = new ChatOptions(null, null, null, List.of());

    public ChatOptions {
        stop = stop == null ? List.of() : List.copyOf(stop);
    }
}
