package dev.parley.api.llm;

/** Why the model stopped. */
public enum FinishReason {
    STOP, LENGTH, TOOL_CALLS, CONTENT_FILTER, OTHER
}
