package dev.parley.web.rest.internal;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/** Bodies of the OpenAI-compatible API, snake_case as OpenAI documents them. */
final class OpenAiBodies {
    private OpenAiBodies() {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record ChatCompletionRequest(String model, List<RequestMessage> messages, Boolean stream,
            StreamOptions streamOptions, Double temperature, Double topP, Integer maxTokens,
            Integer maxCompletionTokens, JsonNode stop, Integer n, List<ToolDefinition> tools, JsonNode toolChoice,
            Boolean parallelToolCalls, JsonNode responseFormat) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record StreamOptions(Boolean includeUsage) {
    }

    /** {@code content} is a string or an array of parts, so it stays a tree until validated. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record RequestMessage(String role, JsonNode content, String name, List<ToolCallBody> toolCalls,
            String toolCallId) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ToolCallBody(Integer index, String id, String type, FunctionCall function) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record FunctionCall(String name, String arguments) {
    }

    record ToolDefinition(String type, FunctionDefinition function) {
    }

    /** {@code strict} is accepted and not forwarded (the provider API has no field for it). */
    record FunctionDefinition(String name, String description, JsonNode parameters, Boolean strict) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record ChatCompletion(String id, String object, long created, String model, List<Choice> choices,
            UsageBody usage) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Choice(int index, AssistantMessage message, String finishReason) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record AssistantMessage(String role, String content,
            @JsonInclude(JsonInclude.Include.NON_EMPTY) List<ToolCallBody> toolCalls) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record UsageBody(int promptTokens, int completionTokens, int totalTokens, PromptTokensDetails promptTokensDetails) {
    }

    /** OpenAI sends it with every usage; {@code cached_tokens} is part of {@code prompt_tokens}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record PromptTokensDetails(int cachedTokens) {
    }

    /** {@code input} is a string or an array of strings (token arrays are refused), so it stays a tree. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record EmbeddingsRequest(String model, JsonNode input, String encodingFormat, Integer dimensions, String user) {
    }

    /** {@code embedding} is a {@code float[]} or, for {@code encoding_format: base64}, little-endian float32 bytes. */
    record EmbeddingItem(String object, int index, Object embedding) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record EmbeddingsUsage(int promptTokens, int totalTokens) {
    }

    record EmbeddingList(String object, List<EmbeddingItem> data, String model, EmbeddingsUsage usage) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Chunk(String id, String object, long created, String model, List<ChunkChoice> choices,
            @JsonInclude(JsonInclude.Include.NON_NULL) UsageBody usage) {
    }

    /** {@code finish_reason} is written even when null: clients look for it in every chunk. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record ChunkChoice(int index, Delta delta, String finishReason) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    record Delta(String role, String content, List<ToolCallBody> toolCalls) {
    }

    record ModelList(String object, List<ModelEntry> data) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record ModelEntry(String id, String object, long created, String ownedBy) {
    }

    /** {@code param} is always written (null): OpenAI clients expect the key. */
    record ErrorEnvelope(ErrorBody error) {
    }

    record ErrorBody(String message, String type, String param, String code) {
    }
}
