package dev.parley.api.llm;

/** Token usage of one model call, as the provider reported it (or estimated when it reported none). */
public record Usage(int promptTokens, int completionTokens) {
    public static final Usage ZERO = new Usage(0, 0);

    public int totalTokens() {
        return promptTokens + completionTokens;
    }
}
