package dev.parley.api.llm;

import java.util.Objects;

/** A tool the model may call; {@code parametersJsonSchema} is a JSON Schema object as text. */
public record ToolSpec(String name, String description, String parametersJsonSchema) {
    public ToolSpec {
        Objects.requireNonNull(name, "name");
    }
}
