package dev.parley.api.llm;

import java.util.Objects;

/**
 * The shape the answer must have. Null in {@link ChatOptions} means free text. A provider whose vendor has no
 * structured output fails a request asking for {@link Type#JSON_SCHEMA} with {@code INVALID_REQUEST} rather than
 * ignoring it; one without a JSON mode may ask for JSON in the prompt.
 *
 * @param name       the schema's name ({@link Type#JSON_SCHEMA}), else null
 * @param jsonSchema the JSON Schema object as text ({@link Type#JSON_SCHEMA}), else null
 * @param strict     whether the vendor must follow the schema exactly, where it can
 * @since 1.2
 */
public record ResponseFormat(Type type, String name, String jsonSchema, boolean strict) {
    /** The kinds of answer shape. */
    public enum Type {
        TEXT, JSON_OBJECT, JSON_SCHEMA
    }

    public static final ResponseFormat TEXT = new ResponseFormat(Type.TEXT, null, null, false);
    public static final ResponseFormat JSON_OBJECT = new ResponseFormat(Type.JSON_OBJECT, null, null, false);

    public ResponseFormat {
        Objects.requireNonNull(type, "type");
        if ((type == Type.JSON_SCHEMA) == (jsonSchema == null)) {
            throw new IllegalArgumentException("a JSON schema goes with type JSON_SCHEMA and only with it");
        }
    }

    public static ResponseFormat jsonSchema(String name, String jsonSchema, boolean strict) {
        return new ResponseFormat(Type.JSON_SCHEMA, name, jsonSchema, strict);
    }
}
