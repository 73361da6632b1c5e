package dev.parley.api.llm;

import java.util.Objects;

/**
 * A piece of a tool call, as the model streams it. The calls of one answer are numbered from 0 by {@code index} in
 * the order the model starts them; the first piece of each call carries its {@code id} (when the vendor gives one)
 * and its {@code name}, later pieces only more of its arguments. Joined in order, the {@code argumentsDelta}s of one
 * index are that call's arguments JSON. The whole calls still arrive in {@link ChatResponse#toolCalls()}.
 *
 * @param index          which call of the answer this piece belongs to, from 0
 * @param id             the call's id on its first piece, else null (also null when the vendor has no ids)
 * @param name           the tool's name on the call's first piece, else null
 * @param argumentsDelta more of the arguments JSON, possibly empty (never null)
 * @since 1.3
 */
public record ToolCallDelta(int index, String id, String name, String argumentsDelta) {
    public ToolCallDelta {
        if (index < 0) {
            throw new IllegalArgumentException("index must be >= 0: " + index);
        }
        argumentsDelta = Objects.requireNonNullElse(argumentsDelta, "");
    }

    /** Whether this is the first piece of its call (it names the tool). */
    public boolean starts() {
        return name != null;
    }
}
