package dev.parley.api.llm;

/**
 * What a model accepts beyond plain text chat; see {@link ModelDescriptor#capabilities()}.
 *
 * @since 1.2
 */
public enum ModelCapability {
    /** Tool (function) definitions in, tool calls out. */
    TOOLS,
    /** Images in user messages. */
    VISION,
    /** A JSON mode or JSON-schema structured output. */
    JSON_OUTPUT
}
