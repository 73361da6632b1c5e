package dev.parley.api.llm;

import java.util.Objects;

/** A model's request to call a tool; {@code argumentsJson} is the raw JSON object the model produced. */
public record ToolCall(String id, String name, String argumentsJson) {
    public ToolCall {
        Objects.requireNonNull(name, "name");
        argumentsJson = argumentsJson == null ? "{}" : argumentsJson;
    }
}
