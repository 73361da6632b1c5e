package dev.parley.web.rest.internal;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/**
 * Bodies of the Anthropic-compatible Messages API ({@code POST /v1/messages}), snake_case as Anthropic documents them.
 * Content that may be a string or an array of blocks stays a tree until {@link AnthropicRequests} validates it.
 */
final class AnthropicBodies {
    private AnthropicBodies() {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record MessagesRequest(String model, Integer maxTokens, JsonNode system, List<InputMessage> messages, Boolean stream,
            List<String> stopSequences, Double temperature, Double topP, Integer topK, List<Tool> tools,
            JsonNode toolChoice, JsonNode metadata) {
    }

    record InputMessage(String role, JsonNode content) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Tool(String type, String name, String description, JsonNode inputSchema) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Message(String id, String type, String role, String model, List<ContentBlock> content, String stopReason,
            String stopSequence, Usage usage) {
    }

    /** A text block ({@code text}) or a tool call ({@code id}, {@code name}, {@code input}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ContentBlock(String type, String text, String id, String name, JsonNode input) {
        static ContentBlock text(String text) {
            return new ContentBlock("text", text, null, null, null);
        }
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Usage(int inputTokens, int outputTokens, int cacheCreationInputTokens, int cacheReadInputTokens) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record TokenCount(int inputTokens) {
    }

    record ErrorEnvelope(String type, ErrorBody error) {
    }

    record ErrorBody(String type, String message) {
    }
}
