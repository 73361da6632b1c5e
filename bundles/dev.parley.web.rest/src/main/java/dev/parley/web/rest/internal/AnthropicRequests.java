package dev.parley.web.rest.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import dev.parley.api.llm.Usage;
import dev.parley.web.rest.internal.AnthropicBodies.ContentBlock;
import dev.parley.web.rest.internal.AnthropicBodies.InputMessage;
import dev.parley.web.rest.internal.AnthropicBodies.MessagesRequest;
import dev.parley.web.rest.internal.AnthropicBodies.Tool;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Maps the Anthropic Messages API's request shape to Parley's {@link ChatRequest}, and Parley's answers back, with
 * the checks Anthropic makes on its own API (so a client gets a 400 {@code invalid_request_error} for what Anthropic
 * would refuse, before anything reaches a provider).
 */
final class AnthropicRequests {
    static final Set<String> IMAGE_TYPES = Set.of("image/jpeg", "image/png", "image/gif", "image/webp");
    private static final Pattern TOOL_NAME = Pattern.compile("^[a-zA-Z0-9_-]{1,128}$");

    private AnthropicRequests() {
    }

    /** {@code count}: for {@code count_tokens}, which takes no {@code max_tokens}. */
    static ChatRequest chatRequest(MessagesRequest body, boolean count) {
        if (body == null) {
            throw invalid("The request body must be a JSON object.");
        }
        if (body.model() == null || body.model().isBlank()) {
            throw invalid("model: Field required");
        }
        if (!count) {
            if (body.maxTokens() == null) {
                throw invalid("max_tokens: Field required");
            }
            if (body.maxTokens() < 1) {
                throw invalid("max_tokens: must be at least 1");
            }
        }
        if (body.temperature() != null && (body.temperature() < 0 || body.temperature() > 1)) {
            throw invalid("temperature: must be between 0 and 1");
        }
        if (body.topP() != null && (body.topP() < 0 || body.topP() > 1)) {
            throw invalid("top_p: must be between 0 and 1");
        }
        if (body.messages() == null || body.messages().isEmpty()) {
            throw invalid("messages: at least one message is required");
        }
        List<ChatMessage> messages = new ArrayList<>();
        String system = system(body.system());
        if (system != null) {
            messages.add(ChatMessage.system(system));
        }
        Set<String> toolUseIds = new HashSet<>();
        for (int i = 0; i < body.messages().size(); i++) {
            InputMessage m = body.messages().get(i);
            String at = "messages." + i;
            if (m == null) {
                throw invalid(at + ": must be an object");
            }
            if ("user".equals(m.role())) {
                user(m.content(), at, toolUseIds, messages);
            } else if ("assistant".equals(m.role())) {
                assistant(m.content(), at, toolUseIds, messages);
            } else {
                throw invalid(at + ".role: must be \"user\" or \"assistant\"");
            }
        }
        List<ToolSpec> tools = tools(body.tools());
        ToolChoice choice = toolChoice(body.toolChoice(), tools);
        ChatOptions options = new ChatOptions(body.temperature(), body.topP(), body.maxTokens(), body.stopSequences(),
                choice, null);
        return new ChatRequest(body.model(), messages, options, tools);
    }

    private static String system(JsonNode system) {
        if (system == null || system.isNull()) {
            return null;
        }
        if (system.isTextual()) {
            return system.asText();
        }
        if (!system.isArray()) {
            throw invalid("system: must be a string or an array of text blocks");
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < system.size(); i++) {
            JsonNode block = system.get(i);
            if (!"text".equals(block.path("type").asText()) || !block.path("text").isTextual()) {
                throw invalid("system." + i + ": must be a text block");
            }
            if (b.length() > 0) {
                b.append("\n\n");
            }
            b.append(block.get("text").asText());
        }
        return b.toString();
    }

    private static void user(JsonNode content, String at, Set<String> toolUseIds, List<ChatMessage> out) {
        if (content != null && content.isTextual()) {
            out.add(ChatMessage.user(content.asText()));
            return;
        }
        List<ContentPart> parts = new ArrayList<>();
        for (int i = 0; i < blocks(content, at).size(); i++) {
            JsonNode block = content.get(i);
            String where = at + ".content." + i;
            switch (block.path("type").asText()) {
                case "text" -> parts.add(ContentPart.text(text(block, where)));
                case "image" -> parts.add(image(block, where));
                case "tool_result" -> out.add(toolResult(block, where, toolUseIds));
                case "document" -> throw invalid(where + ": document blocks are not supported by this server");
                default -> throw invalid(where + ".type: unsupported block type '" + block.path("type").asText()
                        + "' in a user message (text, image, tool_result)");
            }
        }
        if (!parts.isEmpty()) {
            out.add(ChatMessage.user(parts));
        }
    }

    private static void assistant(JsonNode content, String at, Set<String> toolUseIds, List<ChatMessage> out) {
        if (content != null && content.isTextual()) {
            out.add(ChatMessage.assistant(content.asText()));
            return;
        }
        StringBuilder text = new StringBuilder();
        List<ToolCall> calls = new ArrayList<>();
        for (int i = 0; i < blocks(content, at).size(); i++) {
            JsonNode block = content.get(i);
            String where = at + ".content." + i;
            switch (block.path("type").asText()) {
                case "text" -> text.append(text(block, where));
                case "tool_use" -> {
                    String id = block.path("id").asText("");
                    String name = block.path("name").asText("");
                    if (id.isEmpty() || name.isEmpty()) {
                        throw invalid(where + ": a tool_use block needs an id and a name");
                    }
                    if (!block.path("input").isObject()) {
                        throw invalid(where + ".input: must be an object");
                    }
                    if (!toolUseIds.add(id)) {
                        throw invalid(where + ".id: tool_use ids must be unique, '" + id + "' is used twice");
                    }
                    calls.add(new ToolCall(id, name, block.get("input").toString()));
                }
                // Extended-thinking blocks a client sends back: the reasoning of an earlier answer, for the vendor
                // that wrote it; other providers have no place for them, so they are left out.
                case "thinking", "redacted_thinking" -> {
                }
                default -> throw invalid(where + ".type: unsupported block type '" + block.path("type").asText()
                        + "' in an assistant message (text, tool_use)");
            }
        }
        out.add(ChatMessage.assistant(text.toString(), calls));
    }

    private static JsonNode blocks(JsonNode content, String at) {
        if (content == null || !content.isArray()) {
            throw invalid(at + ".content: must be a string or an array of content blocks");
        }
        if (content.isEmpty()) {
            throw invalid(at + ".content: must not be empty");
        }
        return content;
    }

    private static String text(JsonNode block, String where) {
        JsonNode text = block.get("text");
        if (text == null || !text.isTextual()) {
            throw invalid(where + ".text: Field required");
        }
        return text.asText();
    }

    private static ContentPart image(JsonNode block, String where) {
        JsonNode source = block.path("source");
        String type = source.path("type").asText();
        if ("base64".equals(type)) {
            String mediaType = source.path("media_type").asText();
            if (!IMAGE_TYPES.contains(mediaType)) {
                throw invalid(where + ".source.media_type: must be one of image/jpeg, image/png, image/gif, image/webp");
            }
            String data = source.path("data").asText("");
            if (data.isEmpty()) {
                throw invalid(where + ".source.data: Field required");
            }
            return ContentPart.imageBase64(mediaType, data);
        }
        if ("url".equals(type)) {
            String url = source.path("url").asText("");
            if (!url.startsWith("https://") && !url.startsWith("http://")) {
                throw invalid(where + ".source.url: must be an http(s) URL");
            }
            return ContentPart.imageUrl(url, null);
        }
        throw invalid(where + ".source.type: must be \"base64\" or \"url\"");
    }

    private static ChatMessage toolResult(JsonNode block, String where, Set<String> toolUseIds) {
        String id = block.path("tool_use_id").asText("");
        if (id.isEmpty()) {
            throw invalid(where + ".tool_use_id: Field required");
        }
        if (!toolUseIds.contains(id)) {
            throw invalid(where + ": tool_result block with tool_use_id '" + id
                    + "' does not answer any tool_use block of an earlier assistant message");
        }
        JsonNode content = block.get("content");
        String text;
        if (content == null || content.isNull()) {
            text = "";
        } else if (content.isTextual()) {
            text = content.asText();
        } else if (content.isArray()) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < content.size(); i++) {
                JsonNode part = content.get(i);
                if (!"text".equals(part.path("type").asText())) {
                    throw invalid(where + ".content." + i + ": only text blocks are supported in a tool_result");
                }
                if (b.length() > 0) {
                    b.append("\n\n");
                }
                b.append(text(part, where + ".content." + i));
            }
            text = b.toString();
        } else {
            throw invalid(where + ".content: must be a string or an array of text blocks");
        }
        if (block.path("is_error").asBoolean(false)) {
            text = "Error: " + text;
        }
        return ChatMessage.tool(id, text);
    }

    private static List<ToolSpec> tools(List<Tool> tools) {
        if (tools == null || tools.isEmpty()) {
            return List.of();
        }
        List<ToolSpec> specs = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < tools.size(); i++) {
            Tool t = tools.get(i);
            String at = "tools." + i;
            if (t == null) {
                throw invalid(at + ": must be an object");
            }
            if (t.type() != null && !"custom".equals(t.type())) {
                throw invalid(at + ".type: server tool '" + t.type() + "' is not supported by this server; "
                        + "define client tools with name, description and input_schema");
            }
            if (t.name() == null || !TOOL_NAME.matcher(t.name()).matches()) {
                throw invalid(at + ".name: must match " + TOOL_NAME.pattern());
            }
            if (!names.add(t.name())) {
                throw invalid(at + ".name: tool names must be unique, '" + t.name() + "' is used twice");
            }
            if (t.inputSchema() == null || !t.inputSchema().isObject()
                    || !"object".equals(t.inputSchema().path("type").asText())) {
                throw invalid(at + ".input_schema: must be a JSON Schema object with \"type\": \"object\"");
            }
            specs.add(new ToolSpec(t.name(), t.description(), t.inputSchema().toString()));
        }
        return specs;
    }

    private static ToolChoice toolChoice(JsonNode choice, List<ToolSpec> tools) {
        if (choice == null || choice.isNull()) {
            return null;
        }
        String type = choice.path("type").asText();
        return switch (type) {
            case "auto" -> ToolChoice.AUTO;
            case "any" -> ToolChoice.REQUIRED;
            case "none" -> ToolChoice.NONE;
            case "tool" -> {
                String name = choice.path("name").asText("");
                if (tools.stream().noneMatch(t -> t.name().equals(name))) {
                    throw invalid("tool_choice.name: '" + name + "' is not one of the tools");
                }
                yield ToolChoice.tool(name);
            }
            default -> throw invalid("tool_choice.type: must be \"auto\", \"any\", \"tool\" or \"none\"");
        };
    }

    /** The answer's content blocks: its text (if any), then one tool_use block per call. */
    static List<ContentBlock> content(String text, List<ToolCall> calls, ObjectMapper mapper) {
        List<ContentBlock> blocks = new ArrayList<>();
        if (!text.isEmpty() || calls.isEmpty()) {
            blocks.add(ContentBlock.text(text));
        }
        for (ToolCall call : calls) {
            blocks.add(new ContentBlock("tool_use", null, call.id(), call.name(), input(call, mapper)));
        }
        return blocks;
    }

    /** A call's arguments as the JSON object Anthropic's {@code input} must be; a model's broken JSON is kept as text. */
    static JsonNode input(ToolCall call, ObjectMapper mapper) {
        try {
            JsonNode node = mapper.readTree(call.argumentsJson());
            if (node != null && node.isObject()) {
                return node;
            }
        } catch (JsonProcessingException e) {
            // fall through
        }
        ObjectNode wrapped = mapper.createObjectNode();
        wrapped.put("_raw_arguments", call.argumentsJson());
        return wrapped;
    }

    static String stopReason(FinishReason reason) {
        return switch (reason) {
            case LENGTH -> "max_tokens";
            case TOOL_CALLS -> "tool_use";
            case CONTENT_FILTER -> "refusal";
            case STOP, OTHER -> "end_turn";
        };
    }

    static AnthropicBodies.Usage usage(Usage u) {
        int cached = u.cachedPromptTokens();
        // Anthropic's input_tokens are the uncached ones; Parley's promptTokens count every input token.
        return new AnthropicBodies.Usage(Math.max(0, u.promptTokens() - cached), u.completionTokens(), 0, cached);
    }

    /** Anthropic's error {@code type} and HTTP status for a Parley error code. */
    static String errorType(int status) {
        return switch (status) {
            case 400, 405, 415, 422 -> "invalid_request_error";
            case 401 -> "authentication_error";
            case 402 -> "billing_error";
            case 403 -> "permission_error";
            case 404 -> "not_found_error";
            case 413 -> "request_too_large";
            case 429 -> "rate_limit_error";
            case 529 -> "overloaded_error";
            case 504 -> "timeout_error";
            default -> "api_error";
        };
    }

    /** Anthropic sends 529 for overloaded; the rest keeps Parley's status. */
    static int status(ErrorResponses.Failure failure) {
        return failure.code() == ErrorCode.OVERLOADED ? 529 : failure.status();
    }

    static AnthropicBodies.ErrorEnvelope error(ErrorResponses.Failure failure) {
        return new AnthropicBodies.ErrorEnvelope("error",
                new AnthropicBodies.ErrorBody(errorType(status(failure)), failure.detail()));
    }

    private static ParleyException invalid(String message) {
        return new ParleyException(ErrorCode.INVALID_REQUEST, message);
    }
}
