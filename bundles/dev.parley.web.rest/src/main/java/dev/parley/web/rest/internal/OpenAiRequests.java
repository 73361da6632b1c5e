package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.Role;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolSpec;
import dev.parley.api.llm.Usage;
import dev.parley.web.rest.internal.OpenAiBodies.ChatCompletionRequest;
import dev.parley.web.rest.internal.OpenAiBodies.FunctionCall;
import dev.parley.web.rest.internal.OpenAiBodies.RequestMessage;
import dev.parley.web.rest.internal.OpenAiBodies.ToolCallBody;
import dev.parley.web.rest.internal.OpenAiBodies.ToolDefinition;
import dev.parley.web.rest.internal.OpenAiBodies.UsageBody;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** OpenAI chat-completions request bodies in, Parley requests out (and the few shapes both directions share). */
final class OpenAiRequests {
    private OpenAiRequests() {
    }

    /** Validates {@code body} into the request core routes; blank model means the server's default. */
    static ChatRequest chatRequest(ChatCompletionRequest body) {
        if (body == null) {
            throw invalid("The request body must be a JSON object.");
        }
        String model = body.model() == null ? "" : body.model();
        return new ChatRequest(model, messages(body.messages()), options(body), tools(body.tools()));
    }

    static UsageBody usage(Usage u) {
        Usage usage = u == null ? Usage.ZERO : u;
        return new UsageBody(usage.promptTokens(), usage.completionTokens(), usage.totalTokens());
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
            throw invalid("'messages' must be a non-empty array.");
        }
        List<ChatMessage> out = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            RequestMessage m = messages.get(i);
            if (m == null || m.role() == null) {
                throw invalid("'messages[" + i + "].role' is required.");
            }
            String content = content(m.content(), i);
            Role role = switch (m.role().toLowerCase(Locale.ROOT)) {
                case "system", "developer" -> Role.SYSTEM;
                case "user" -> Role.USER;
                case "assistant" -> Role.ASSISTANT;
                case "tool" -> Role.TOOL;
                default -> throw invalid("'messages[" + i + "].role' must be one of system, developer, user, assistant, tool.");
            };
            List<ToolCall> calls = new ArrayList<>();
            if (m.toolCalls() != null) {
                for (ToolCallBody c : m.toolCalls()) {
                    if (c == null || c.function() == null || c.function().name() == null) {
                        throw invalid("'messages[" + i + "].tool_calls' entries need function.name.");
                    }
                    calls.add(new ToolCall(c.id(), c.function().name(), c.function().arguments()));
                }
            }
            if (role == Role.TOOL && m.toolCallId() == null) {
                throw invalid("'messages[" + i + "].tool_call_id' is required for tool messages.");
            }
            out.add(new ChatMessage(role, content, calls, m.toolCallId()));
        }
        return out;
    }

    /** A string, null, or an array of {type:"text", text} parts (joined). */
    private static String content(JsonNode content, int i) {
        if (content == null || content.isNull()) {
            return "";
        }
        if (content.isTextual()) {
            return content.textValue();
        }
        if (content.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : content) {
                if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw invalid("'messages[" + i + "].content' parts must be {\"type\":\"text\",\"text\":string}.");
                }
                sb.append(part.get("text").textValue());
            }
            return sb.toString();
        }
        throw invalid("'messages[" + i + "].content' must be a string or an array of text parts.");
    }

    private static ChatOptions options(ChatCompletionRequest body) {
        if (body.n() != null && body.n() != 1) {
            throw invalid("Only 'n' = 1 is supported.");
        }
        Integer maxTokens = body.maxCompletionTokens() != null ? body.maxCompletionTokens() : body.maxTokens();
        if (maxTokens != null && maxTokens <= 0) {
            throw invalid("'max_tokens' must be positive.");
        }
        List<String> stop = new ArrayList<>();
        JsonNode s = body.stop();
        if (s != null && !s.isNull()) {
            if (s.isTextual()) {
                stop.add(s.textValue());
            } else if (s.isArray()) {
                for (JsonNode e : s) {
                    if (!e.isTextual()) {
                        throw invalid("'stop' must be a string or an array of strings.");
                    }
                    stop.add(e.textValue());
                }
            } else {
                throw invalid("'stop' must be a string or an array of strings.");
            }
        }
        return new ChatOptions(body.temperature(), body.topP(), maxTokens, stop);
    }

    private static List<ToolSpec> tools(List<ToolDefinition> tools) {
        if (tools == null) {
            return List.of();
        }
        List<ToolSpec> out = new ArrayList<>();
        for (int i = 0; i < tools.size(); i++) {
            ToolDefinition t = tools.get(i);
            if (t == null || !"function".equals(t.type()) || t.function() == null || t.function().name() == null) {
                throw invalid("'tools[" + i + "]' must be {\"type\":\"function\",\"function\":{\"name\",...}}.");
            }
            JsonNode params = t.function().parameters();
            out.add(new ToolSpec(t.function().name(), t.function().description(),
                    params == null || params.isNull() ? null : params.toString()));
        }
        return out;
    }

    private static ParleyException invalid(String message) {
        return new ParleyException(ErrorCode.INVALID_REQUEST, message);
    }
}
