package dev.parley.web.rest.internal;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.Role;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.ResponseFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * OpenAI Responses API request bodies ({@code POST /v1/responses}) in, Parley requests out: {@code instructions} and
 * {@code input} (a string, or message items with {@code input_text}, {@code input_image} and {@code output_text}
 * parts) become the messages, {@code text.format} the response format. What Parley cannot do statelessly or does not
 * serve here yet ({@code previous_response_id}, tools, items other than messages) is refused with a clear 400 rather
 * than ignored.
 */
final class ResponsesRequests {
    private ResponsesRequests() {
    }

    /** Unknown fields are ignored, as for chat completions; {@code input} and {@code text} stay trees. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ResponsesRequest(String model, JsonNode input, String instructions, Boolean stream, Double temperature,
            Double topP, Integer maxOutputTokens, JsonNode tools, JsonNode text, String previousResponseId,
            JsonNode metadata) {
    }

    static ChatRequest chatRequest(ResponsesRequest body) {
        if (body == null) {
            throw ParleyException.invalid(null, "The request body must be a JSON object.");
        }
        if (body.previousResponseId() != null) {
            throw ParleyException.invalid("previous_response_id", "Parley keeps no responses: send the whole "
                    + "conversation in 'input' instead of 'previous_response_id'.");
        }
        if (body.tools() != null && !body.tools().isNull() && !(body.tools().isArray() && body.tools().isEmpty())) {
            throw ParleyException.invalid("tools", "Tools are not served on /v1/responses yet; use "
                    + "/v1/chat/completions for tool calls.");
        }
        if (body.maxOutputTokens() != null && body.maxOutputTokens() <= 0) {
            throw ParleyException.invalid("max_output_tokens", "'max_output_tokens' must be positive.");
        }
        List<ChatMessage> messages = new ArrayList<>();
        if (body.instructions() != null && !body.instructions().isBlank()) {
            messages.add(ChatMessage.system(body.instructions()));
        }
        input(body.input(), messages);
        ChatOptions options = new ChatOptions(body.temperature(), body.topP(), body.maxOutputTokens(), List.of(), null,
                format(body.text()));
        return new ChatRequest(body.model() == null ? "" : body.model(), messages, options, List.of());
    }

    private static void input(JsonNode input, List<ChatMessage> out) {
        if (input == null || input.isNull() || input.isMissingNode()) {
            throw ParleyException.invalid("input", "'input' is required: a string or an array of input items.");
        }
        if (input.isTextual()) {
            if (input.textValue().isEmpty()) {
                throw ParleyException.invalid("input", "'input' must not be empty.");
            }
            out.add(ChatMessage.user(input.textValue()));
            return;
        }
        if (!input.isArray() || input.isEmpty()) {
            throw ParleyException.invalid("input", "'input' must be a string or a non-empty array of input items.");
        }
        for (int i = 0; i < input.size(); i++) {
            JsonNode item = input.get(i);
            String at = "input[" + i + "]";
            String type = item.path("type").asText("message");
            if (!item.isObject() || !type.equals("message")) {
                throw ParleyException.invalid(at + ".type", "Only message items are served on /v1/responses"
                        + (type.equals("message") ? "." : "; '" + type + "' is not."));
            }
            Role role = switch (item.path("role").asText("").toLowerCase(Locale.ROOT)) {
                case "user" -> Role.USER;
                case "assistant" -> Role.ASSISTANT;
                case "system", "developer" -> Role.SYSTEM;
                default -> throw ParleyException.invalid(at + ".role", "'" + at
                        + ".role' must be user, assistant, system or developer.");
            };
            out.add(message(role, item.path("content"), at));
        }
    }

    private static ChatMessage message(Role role, JsonNode content, String at) {
        if (content.isTextual()) {
            return new ChatMessage(role, content.textValue(), List.of(), null);
        }
        if (!content.isArray()) {
            throw ParleyException.invalid(at + ".content", "'" + at + ".content' must be a string or an array of "
                    + "content parts.");
        }
        List<ContentPart> parts = new ArrayList<>();
        for (int p = 0; p < content.size(); p++) {
            JsonNode part = content.get(p);
            String param = at + ".content[" + p + "]";
            switch (part.path("type").asText("")) {
                case "input_text", "output_text" -> {
                    if (!part.path("text").isTextual()) {
                        throw ParleyException.invalid(param + ".text", "'" + param + ".text' must be a string.");
                    }
                    parts.add(ContentPart.text(part.get("text").textValue()));
                }
                case "input_image" -> parts.add(OpenAiRequests.image(part.path("image_url"), part.path("detail"),
                        param + ".image_url", param + ".detail"));
                default -> throw ParleyException.invalid(param + ".type", "'" + param + ".type' must be input_text, "
                        + "input_image or output_text.");
            }
        }
        if (parts.stream().allMatch(ContentPart::isText)) {
            StringBuilder text = new StringBuilder();
            parts.forEach(p -> text.append(p.text()));
            return new ChatMessage(role, text.toString(), List.of(), null);
        }
        return new ChatMessage(role, null, parts, List.of(), null);
    }

    /** {@code text.format}: {@code {type:text}}, {@code {type:json_object}}, {@code {type:json_schema,name,schema,strict}}. */
    private static ResponseFormat format(JsonNode text) {
        if (text == null || text.isNull() || text.path("format").isMissingNode() || text.path("format").isNull()) {
            return null;
        }
        JsonNode f = text.get("format");
        String type = f.path("type").asText("");
        return switch (type) {
            case "text" -> ResponseFormat.TEXT;
            case "json_object" -> ResponseFormat.JSON_OBJECT;
            case "json_schema" -> {
                if (!f.path("name").isTextual()) {
                    throw ParleyException.invalid("text.format.name", "'text.format.name' is required.");
                }
                if (!f.path("schema").isObject()) {
                    throw ParleyException.invalid("text.format.schema", "'text.format.schema' must be a JSON Schema "
                            + "object.");
                }
                yield ResponseFormat.jsonSchema(f.get("name").textValue(), f.get("schema").toString(),
                        f.path("strict").asBoolean(false));
            }
            default -> throw ParleyException.invalid("text.format.type", "'text.format.type' must be text, "
                    + "json_object or json_schema.");
        };
    }

    /** The {@code text} object a response echoes: the format asked for, else plain text. */
    static ObjectNode textConfig(JsonNode requested) {
        ObjectNode text = JsonNodeFactory.instance.objectNode();
        JsonNode format = requested == null ? null : requested.path("format");
        if (format == null || !format.isObject()) {
            text.putObject("format").put("type", "text");
        } else {
            text.set("format", format.deepCopy());
        }
        return text;
    }
}
