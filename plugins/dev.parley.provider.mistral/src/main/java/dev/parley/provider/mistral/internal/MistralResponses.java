package dev.parley.provider.mistral.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.model.mistralai.internal.api.MistralAiChatCompletionChoice;
import dev.langchain4j.model.mistralai.internal.api.MistralAiChatCompletionResponse;
import dev.langchain4j.model.mistralai.internal.api.MistralAiChatMessage;
import dev.langchain4j.model.mistralai.internal.api.MistralAiMessageContent;
import dev.langchain4j.model.mistralai.internal.api.MistralAiTextContent;
import dev.langchain4j.model.mistralai.internal.api.MistralAiToolCall;
import dev.langchain4j.model.mistralai.internal.api.MistralAiUsage;
import dev.langchain4j.model.output.TokenUsage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.Usage;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns what the library read (a streamed {@code ChatResponse}, or a non-streamed completion) into Parley's
 * {@link ChatResponse}. The library's usage type has no cache figures and its finish-reason mapping folds Mistral's
 * {@code error} and {@code model_length} into "other"; both are read from the raw JSON it keeps.
 */
final class MistralResponses {

    private static final ObjectMapper JSON = new ObjectMapper();

    private MistralResponses() {
    }

    /** The end of a streamed answer. */
    static ChatResponse fromStream(dev.langchain4j.model.chat.response.ChatResponse r, Exchange ex, String model) {
        String text = r.aiMessage().text();
        List<ToolCall> calls = new ArrayList<>();
        if (r.aiMessage().hasToolExecutionRequests()) {
            for (ToolExecutionRequest t : r.aiMessage().toolExecutionRequests()) {
                calls.add(new ToolCall(t.id(), t.name(), t.arguments()));
            }
        }
        String finish = rawFinishReason(ex.lastFinishEvent());
        if (finish == null) {
            finish = fromLibrary(r.metadata().finishReason());
        }
        TokenUsage u = r.metadata().tokenUsage();
        JsonNode usage = usageNode(ex.lastUsageEvent());
        int prompt = u == null || u.inputTokenCount() == null ? 0 : u.inputTokenCount();
        int completion = u == null || u.outputTokenCount() == null ? 0 : u.outputTokenCount();
        String answered = r.metadata().modelName() == null ? model : r.metadata().modelName();
        return finish(text, calls, finish, new Usage(prompt, completion, cached(usage)), answered);
    }

    /** A non-streamed answer ({@code "stream": false}); {@code rawBody} is its JSON as received. */
    static ChatResponse fromCompletion(MistralAiChatCompletionResponse r, String rawBody, String model) {
        if (r == null || r.getChoices() == null || r.getChoices().isEmpty()) {
            throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "Mistral answered without a choice");
        }
        MistralAiChatCompletionChoice choice = r.getChoices().get(0);
        MistralAiChatMessage message = choice.getMessage();
        if (message == null) {
            throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "Mistral answered without a message");
        }
        StringBuilder text = new StringBuilder();
        if (message.getContent() != null) {
            for (MistralAiMessageContent c : message.getContent()) {
                if (c instanceof MistralAiTextContent t && t.getText() != null) {
                    text.append(t.getText());
                }
            }
        }
        List<ToolCall> calls = new ArrayList<>();
        if (message.getToolCalls() != null) {
            for (MistralAiToolCall c : message.getToolCalls()) {
                calls.add(new ToolCall(c.getId(), c.getFunction().getName(), c.getFunction().getArguments()));
            }
        }
        MistralAiUsage u = r.getUsage();
        int prompt = u == null || u.getPromptTokens() == null ? 0 : u.getPromptTokens();
        int completion = u == null || u.getCompletionTokens() == null ? 0 : u.getCompletionTokens();
        int cached = cached(usageNode(rawBody));
        return finish(text.toString(), calls, choice.getFinishReason(), new Usage(prompt, completion, cached),
                r.getModel() == null ? model : r.getModel());
    }

    private static ChatResponse finish(String text, List<ToolCall> calls, String finish, Usage usage, String model) {
        String t = text == null ? "" : text;
        FinishReason reason = finishReason(finish, !calls.isEmpty());
        if ("error".equals(finish)) {
            throw new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                    "Mistral ended the answer with finish_reason \"error\"");
        }
        if (reason == FinishReason.CONTENT_FILTER && t.isEmpty() && calls.isEmpty()) {
            throw new ParleyException(ErrorCode.CONTENT_FILTERED, "Mistral's content filter stopped the answer");
        }
        return new ChatResponse(t, calls, reason, usage, model);
    }

    /** Mistral's finish reasons: stop, length, model_length, error, tool_calls (and content_filter). */
    static FinishReason finishReason(String finish, boolean toolCalls) {
        if (finish == null) {
            return toolCalls ? FinishReason.TOOL_CALLS : FinishReason.STOP;
        }
        return switch (finish) {
            case "stop" -> FinishReason.STOP;
            case "length", "model_length" -> FinishReason.LENGTH;
            case "tool_calls" -> FinishReason.TOOL_CALLS;
            case "content_filter" -> FinishReason.CONTENT_FILTER;
            default -> FinishReason.OTHER;
        };
    }

    /** The library's reading, when the raw event was not kept (it folds error and model_length into OTHER). */
    private static String fromLibrary(dev.langchain4j.model.output.FinishReason f) {
        if (f == null) {
            return null;
        }
        return switch (f) {
            case STOP -> "stop";
            case LENGTH -> "length";
            case TOOL_EXECUTION -> "tool_calls";
            case CONTENT_FILTER -> "content_filter";
            default -> "other";
        };
    }

    private static String rawFinishReason(String event) {
        if (event == null) {
            return null;
        }
        JsonNode root = tree(event);
        JsonNode f = root.path("choices").path(0).path("finish_reason");
        return f.isTextual() ? f.asText() : null;
    }

    private static JsonNode usageNode(String json) {
        return json == null ? com.fasterxml.jackson.databind.node.MissingNode.getInstance() : tree(json).path("usage");
    }

    /** {@code usage.prompt_tokens_details.cached_tokens} (docs.mistral.ai "Prompt caching"); 0 when absent. */
    private static int cached(JsonNode usage) {
        return Math.max(0, usage.path("prompt_tokens_details").path("cached_tokens").asInt(0));
    }

    private static JsonNode tree(String json) {
        try {
            return JSON.readTree(json);
        } catch (JacksonException e) {
            return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
        }
    }
}
