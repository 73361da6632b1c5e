package dev.parley.api.llm;

/**
 * Token usage of one model call, as the provider reported it (or estimated when it reported none).
 *
 * @param promptTokens       every input token, those read from the vendor's prompt cache included
 * @param cachedPromptTokens how many of {@code promptTokens} the vendor read from its prompt cache (since 1.2)
 */
public record Usage(int promptTokens, int completionTokens, int cachedPromptTokens) {
    public static final Usage ZERO = new Usage(0, 0, 0);

    /** Usage without cache figures, as before 1.2. */
    public Usage(int promptTokens, int completionTokens) {
        this(promptTokens, completionTokens, 0);
    }

    public int totalTokens() {
        return promptTokens + completionTokens;
    }
}
