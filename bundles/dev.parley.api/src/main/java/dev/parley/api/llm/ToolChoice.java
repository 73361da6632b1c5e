package dev.parley.api.llm;

import java.util.Objects;

/**
 * Whether and which tool the model must call. Null in {@link ChatOptions} means the provider's default (auto when
 * tools are given).
 *
 * @param toolName the tool to call ({@link Mode#TOOL}), else null
 * @since 1.2
 */
public record ToolChoice(Mode mode, String toolName) {
    /** How the model may use the tools. */
    public enum Mode {
        /** The model decides. */
        AUTO,
        /** No tool may be called. */
        NONE,
        /** At least one tool must be called. */
        REQUIRED,
        /** {@link ToolChoice#toolName()} must be called. */
        TOOL
    }

    public static final ToolChoice AUTO = new ToolChoice(Mode.AUTO, null);
    public static final ToolChoice NONE = new ToolChoice(Mode.NONE, null);
    public static final ToolChoice REQUIRED = new ToolChoice(Mode.REQUIRED, null);

    public ToolChoice {
        Objects.requireNonNull(mode, "mode");
        if ((mode == Mode.TOOL) == (toolName == null || toolName.isBlank())) {
            throw new IllegalArgumentException("a tool name goes with mode TOOL and only with it");
        }
    }

    public static ToolChoice tool(String name) {
        return new ToolChoice(Mode.TOOL, name);
    }
}
