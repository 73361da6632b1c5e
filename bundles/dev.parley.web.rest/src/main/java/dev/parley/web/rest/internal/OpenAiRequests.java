package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.Role;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import dev.parley.api.llm.Usage;
import dev.parley.web.rest.internal.OpenAiBodies.ChatCompletionRequest;
import dev.parley.web.rest.internal.OpenAiBodies.FunctionCall;
import dev.parley.web.rest.internal.OpenAiBodies.PromptTokensDetails;
import dev.parley.web.rest.internal.OpenAiBodies.RequestMessage;
import dev.parley.web.rest.internal.OpenAiBodies.ToolCallBody;
import dev.parley.web.rest.internal.OpenAiBodies.ToolDefinition;
import dev.parley.web.rest.internal.OpenAiBodies.UsageBody;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * OpenAI chat-completions request bodies in, Parley requests out (and the few shapes both directions share). Only the
 * OpenAI shapes are checked here; what every chat API must check (tool-call ids, tool names and count, image types
 * and sizes, model capabilities) is core's, before anything is routed or stored. Errors name the field as
 * {@code param}.
 */
final class OpenAiRequests {
    private OpenAiRequests() {
    }

    /** Validates {@code body} into the request core routes; blank model means the server's default. */
    static ChatRequest chatRequest(ChatCompletionRequest body) {
        if (body == null) {
            throw invalid(null, "The request body must be a JSON object.");
        }
        String model = body.model() == null ? "" : body.model();
        List<ToolSpec> tools = tools(body.tools());
        return new ChatRequest(model, messages(body.messages()), options(body), tools);
    }

    static UsageBody usage(Usage u) {
        Usage usage = u == null ? Usage.ZERO : u;
        return new UsageBody(usage.promptTokens(), usage.completionTokens(), usage.totalTokens(),
                new PromptTokensDetails(usage.cachedPromptTokens()));
    }

    static List<ToolCallBody> toolCalls(List<ToolCall> calls, boolean indexed) {
        List<ToolCallBody> out = new ArrayList<>();
        for (int i = 0; i < calls.size(); i++) {
            ToolCall c = calls.get(i);
            out.add(new ToolCallBody(indexed ? i : null, c.id(), "function", new FunctionCall(c.name(), c.argumentsJson())));
        }
        return out;
    }

    private static List<ChatMessage> messages(List<RequestMessage> messages) {
        if (messages == null || messages.isEmpty()) {
            throw invalid("messages", "'messages' must be a non-empty array.");
        }
        List<ChatMessage> out = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            RequestMessage m = messages.get(i);
            String at = "messages[" + i + "]";
            if (m == null || m.role() == null) {
                throw invalid(at + ".role", "'" + at + ".role' is required.");
            }
            Role role = switch (m.role().toLowerCase(Locale.ROOT)) {
                case "system", "developer" -> Role.SYSTEM;
                case "user" -> Role.USER;
                case "assistant" -> Role.ASSISTANT;
                case "tool" -> Role.TOOL;
                default -> throw invalid(at + ".role", "'" + at
                        + ".role' must be one of system, developer, user, assistant, tool.");
            };
            List<ContentPart> parts = parts(m.content(), at);
            List<ToolCall> calls = new ArrayList<>();
            if (m.toolCalls() != null) {
                if (role != Role.ASSISTANT && !m.toolCalls().isEmpty()) {
                    throw invalid(at + ".tool_calls", "Only assistant messages carry 'tool_calls'.");
                }
                for (int c = 0; c < m.toolCalls().size(); c++) {
                    ToolCallBody call = m.toolCalls().get(c);
                    if (call == null || call.function() == null || call.function().name() == null) {
                        throw invalid(at + ".tool_calls[" + c + "].function.name", "'" + at + ".tool_calls[" + c
                                + "]' needs function.name.");
                    }
                    calls.add(new ToolCall(call.id(), call.function().name(), call.function().arguments()));
                }
            }
            if (role == Role.TOOL && (m.toolCallId() == null || m.toolCallId().isBlank())) {
                throw invalid(at + ".tool_call_id", "'" + at + ".tool_call_id' is required for tool messages.");
            }
            boolean images = parts.stream().anyMatch(p -> !p.isText());
            if (images) {
                out.add(new ChatMessage(role, null, parts, calls, role == Role.TOOL ? m.toolCallId() : null));
            } else {
                // Text parts are joined as they were given: a client that splits a sentence over parts keeps it whole.
                StringBuilder text = new StringBuilder();
                parts.forEach(p -> text.append(p.text()));
                out.add(new ChatMessage(role, text.toString(), calls, role == Role.TOOL ? m.toolCallId() : null));
            }
        }
        return out;
    }

    /** A string, null, or an array of {@code text} and {@code image_url} parts. */
    private static List<ContentPart> parts(JsonNode content, String at) {
        if (content == null || content.isNull()) {
            return List.of();
        }
        if (content.isTextual()) {
            return List.of(ContentPart.text(content.textValue()));
        }
        if (!content.isArray()) {
            throw invalid(at + ".content", "'" + at + ".content' must be a string or an array of content parts.");
        }
        List<ContentPart> out = new ArrayList<>(content.size());
        for (int p = 0; p < content.size(); p++) {
            JsonNode part = content.get(p);
            String param = at + ".content[" + p + "]";
            String type = part.path("type").asText("");
            if (!part.isObject()) {
                throw invalid(param, "'" + param + "' must be an object with a 'type'.");
            }
            switch (type) {
                case "text" -> {
                    if (!part.path("text").isTextual()) {
                        throw invalid(param + ".text", "'" + param + ".text' must be a string.");
                    }
                    out.add(ContentPart.text(part.get("text").textValue()));
                }
                case "image_url" -> out.add(image(part.path("image_url"), param + ".image_url"));
                default -> throw invalid(param + ".type", "'" + param + ".type' must be 'text' or 'image_url'"
                        + (type.isEmpty() ? "." : "; '" + shorten(type) + "' is not supported."));
            }
        }
        return out;
    }

    /** {@code {"url": "https://..." | "data:image/png;base64,...", "detail"?}}; {@code detail} is not forwarded. */
    private static ContentPart image(JsonNode image, String param) {
        return image(image.path("url"), image.path("detail"), param + ".url", param + ".detail");
    }

    /**
     * An image given by {@code url} (https, or a base64 data URL), as chat completions' {@code image_url} and the
     * Responses API's {@code input_image} give it; {@code detail} is checked and not forwarded.
     */
    static ContentPart image(JsonNode url, JsonNode detail, String urlParam, String detailParam) {
        if (!url.isTextual() || url.textValue().isBlank()) {
            throw invalid(urlParam, "'" + urlParam + "' must be an https URL or a base64 data URL.");
        }
        if (!detail.isMissingNode() && !detail.isNull() && !(detail.isTextual()
                && List.of("auto", "low", "high").contains(detail.textValue()))) {
            throw invalid(detailParam, "'" + detailParam + "' must be auto, low or high.");
        }
        String u = url.textValue();
        if (!u.regionMatches(true, 0, "data:", 0, 5)) {
            return ContentPart.imageUrl(u, null);
        }
        int comma = u.indexOf(',');
        String header = comma < 0 ? "" : u.substring(5, comma).toLowerCase(Locale.ROOT);
        if (comma < 0 || !header.endsWith(";base64")) {
            throw invalid(urlParam, "A data URL image must be 'data:<image type>;base64,<data>'.");
        }
        String mediaType = header.substring(0, header.length() - ";base64".length());
        if (mediaType.isEmpty()) {
            throw invalid(urlParam, "A data URL image must name its type, e.g. data:image/png;base64,...");
        }
        // Type, size and base64 validity are checked in core, for every API alike.
        return ContentPart.imageBase64(mediaType, u.substring(comma + 1));
    }

    private static ChatOptions options(ChatCompletionRequest body) {
        if (body.n() != null && body.n() != 1) {
            throw invalid("n", "Only 'n' = 1 is supported.");
        }
        Integer maxTokens = body.maxCompletionTokens() != null ? body.maxCompletionTokens() : body.maxTokens();
        if (maxTokens != null && maxTokens <= 0) {
            throw invalid(body.maxCompletionTokens() != null ? "max_completion_tokens" : "max_tokens",
                    "'max_tokens' must be positive.");
        }
        List<String> stop = new ArrayList<>();
        JsonNode s = body.stop();
        if (s != null && !s.isNull()) {
            if (s.isTextual()) {
                stop.add(s.textValue());
            } else if (s.isArray()) {
                for (JsonNode e : s) {
                    if (!e.isTextual()) {
                        throw invalid("stop", "'stop' must be a string or an array of strings.");
                    }
                    stop.add(e.textValue());
                }
            } else {
                throw invalid("stop", "'stop' must be a string or an array of strings.");
            }
        }
        return new ChatOptions(body.temperature(), body.topP(), maxTokens, stop, toolChoice(body.toolChoice()),
                responseFormat(body.responseFormat()));
    }

    /** {@code "auto" | "none" | "required" | {"type":"function","function":{"name"}}}. */
    static ToolChoice toolChoice(JsonNode choice) {
        if (choice == null || choice.isNull() || choice.isMissingNode()) {
            return null;
        }
        if (choice.isTextual()) {
            return switch (choice.textValue()) {
                case "auto" -> ToolChoice.AUTO;
                case "none" -> ToolChoice.NONE;
                case "required" -> ToolChoice.REQUIRED;
                default -> throw invalid("tool_choice", "'tool_choice' must be auto, none, required or "
                        + "{\"type\":\"function\",\"function\":{\"name\":...}}.");
            };
        }
        JsonNode name = choice.path("function").path("name");
        if (!choice.isObject() || !"function".equals(choice.path("type").asText()) || !name.isTextual()
                || name.textValue().isBlank()) {
            throw invalid("tool_choice", "'tool_choice' must be auto, none, required or "
                    + "{\"type\":\"function\",\"function\":{\"name\":...}}.");
        }
        return ToolChoice.tool(name.textValue());
    }

    /** {@code {"type":"text"|"json_object"}} or {@code {"type":"json_schema","json_schema":{name, schema, strict}}}. */
    static ResponseFormat responseFormat(JsonNode format) {
        if (format == null || format.isNull() || format.isMissingNode()) {
            return null;
        }
        if (!format.isObject() || !format.path("type").isTextual()) {
            throw invalid("response_format", "'response_format' must be an object with a 'type'.");
        }
        return switch (format.get("type").textValue()) {
            case "text" -> ResponseFormat.TEXT;
            case "json_object" -> ResponseFormat.JSON_OBJECT;
            case "json_schema" -> {
                JsonNode js = format.path("json_schema");
                if (!js.isObject()) {
                    throw invalid("response_format.json_schema", "'response_format.json_schema' is required for "
                            + "type json_schema.");
                }
                if (!js.path("name").isTextual()) {
                    throw invalid("response_format.json_schema.name", "'response_format.json_schema.name' is required.");
                }
                JsonNode schema = js.path("schema");
                if (!schema.isObject()) {
                    throw invalid("response_format.json_schema.schema",
                            "'response_format.json_schema.schema' must be a JSON Schema object.");
                }
                JsonNode strict = js.path("strict");
                if (!strict.isMissingNode() && !strict.isNull() && !strict.isBoolean()) {
                    throw invalid("response_format.json_schema.strict",
                            "'response_format.json_schema.strict' must be a boolean.");
                }
                yield ResponseFormat.jsonSchema(js.get("name").textValue(), schema.toString(), strict.asBoolean(false));
            }
            default -> throw invalid("response_format.type", "'response_format.type' must be text, json_object or "
                    + "json_schema.");
        };
    }

    private static List<ToolSpec> tools(List<ToolDefinition> tools) {
        if (tools == null) {
            return List.of();
        }
        List<ToolSpec> out = new ArrayList<>();
        for (int i = 0; i < tools.size(); i++) {
            ToolDefinition t = tools.get(i);
            String at = "tools[" + i + "]";
            if (t == null || !"function".equals(t.type()) || t.function() == null) {
                throw invalid(at, "'" + at + "' must be {\"type\":\"function\",\"function\":{\"name\",...}}.");
            }
            out.add(tool(t.function().name(), t.function().description(), t.function().parameters(), at + ".function"));
        }
        return out;
    }

    /**
     * One function tool, wherever its fields sit ({@code at}: {@code tools[i].function} for chat completions,
     * {@code tools[i]} for the Responses API): a name, and parameters that are absent or a JSON Schema object.
     */
    static ToolSpec tool(String name, String description, JsonNode params, String at) {
        if (name == null || name.isBlank()) {
            throw invalid(at + ".name", "'" + at + ".name' is required.");
        }
        if (params != null && !params.isNull() && !params.isMissingNode() && !params.isObject()) {
            throw invalid(at + ".parameters", "'" + at + ".parameters' must be a JSON Schema object.");
        }
        return new ToolSpec(name, description, params == null || !params.isObject() ? null : params.toString());
    }

    private static String shorten(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "…" : s;
    }

    private static ParleyException invalid(String param, String message) {
        return ParleyException.invalid(param, message);
    }
}
