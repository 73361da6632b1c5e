package dev.parley.provider.openai.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonRawSchema;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolSpec;
import dev.parley.api.llm.Usage;
import dev.langchain4j.model.output.TokenUsage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** Translates between Parley's API types and langchain4j's. */
final class Translation {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Translation() {
    }

    static List<dev.langchain4j.data.message.ChatMessage> messages(List<ChatMessage> messages) {
        // OpenAI's tool messages need only the call id, but langchain4j's also carry the tool name: find it.
        Map<String, String> toolNames = new HashMap<>();
        List<dev.langchain4j.data.message.ChatMessage> out = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            switch (m.role()) {
                case SYSTEM -> out.add(SystemMessage.from(m.content()));
                case USER -> out.add(UserMessage.from(m.content()));
                case ASSISTANT -> {
                    if (m.toolCalls().isEmpty()) {
                        out.add(AiMessage.from(m.content()));
                    } else {
                        List<ToolExecutionRequest> calls = new ArrayList<>();
                        for (ToolCall c : m.toolCalls()) {
                            toolNames.put(c.id(), c.name());
                            calls.add(ToolExecutionRequest.builder().id(c.id()).name(c.name())
                                    .arguments(c.argumentsJson()).build());
                        }
                        out.add(m.content().isEmpty() ? AiMessage.from(calls) : AiMessage.from(m.content(), calls));
                    }
                }
                case TOOL -> out.add(ToolExecutionResultMessage.from(m.toolCallId(),
                        toolNames.getOrDefault(m.toolCallId(), "tool"), m.content()));
            }
        }
        return out;
    }

    static List<ToolSpecification> tools(List<ToolSpec> specs) {
        List<ToolSpecification> out = new ArrayList<>(specs.size());
        for (ToolSpec spec : specs) {
            ToolSpecification.Builder b = ToolSpecification.builder().name(spec.name());
            if (spec.description() != null) {
                b.description(spec.description());
            }
            if (spec.parametersJsonSchema() != null && !spec.parametersJsonSchema().isBlank()) {
                b.parameters(objectSchema(spec));
            }
            out.add(b.build());
        }
        return out;
    }

    /** Top level becomes an object schema; each property keeps its JSON Schema verbatim. */
    private static JsonObjectSchema objectSchema(ToolSpec spec) {
        JsonNode root;
        try {
            root = JSON.readTree(spec.parametersJsonSchema());
        } catch (JacksonException e) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST,
                    "tool '" + spec.name() + "' has a parameters schema that is not JSON", e);
        }
        JsonObjectSchema.Builder b = JsonObjectSchema.builder();
        if (root.path("description").isTextual()) {
            b.description(root.path("description").asText());
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = root.path("properties").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> p = it.next();
            b.addProperty(p.getKey(), JsonRawSchema.from(p.getValue().toString()));
        }
        List<String> required = new ArrayList<>();
        root.path("required").forEach(r -> required.add(r.asText()));
        if (!required.isEmpty()) {
            b.required(required);
        }
        if (root.path("additionalProperties").isBoolean()) {
            b.additionalProperties(root.path("additionalProperties").asBoolean());
        }
        return b.build();
    }

    static ChatResponse response(dev.langchain4j.model.chat.response.ChatResponse r, String requestedModel,
            Usage fallbackUsage) {
        AiMessage ai = r.aiMessage();
        List<ToolCall> calls = new ArrayList<>();
        if (ai != null && ai.hasToolExecutionRequests()) {
            for (ToolExecutionRequest t : ai.toolExecutionRequests()) {
                calls.add(new ToolCall(t.id(), t.name(), t.arguments()));
            }
        }
        TokenUsage tu = r.tokenUsage();
        Usage usage = tu == null || tu.inputTokenCount() == null
                ? fallbackUsage
                : new Usage(tu.inputTokenCount(), tu.outputTokenCount() == null ? 0 : tu.outputTokenCount());
        String model = r.modelName() == null ? requestedModel : r.modelName();
        return new ChatResponse(ai == null ? "" : ai.text(), calls, finishReason(r.finishReason(), calls), usage,
                model);
    }

    private static FinishReason finishReason(dev.langchain4j.model.output.FinishReason reason, List<ToolCall> calls) {
        if (reason == null) {
            return calls.isEmpty() ? FinishReason.STOP : FinishReason.TOOL_CALLS;
        }
        return switch (reason) {
            case STOP -> FinishReason.STOP;
            case LENGTH -> FinishReason.LENGTH;
            case TOOL_EXECUTION -> FinishReason.TOOL_CALLS;
            case CONTENT_FILTER -> FinishReason.CONTENT_FILTER;
            default -> FinishReason.OTHER;
        };
    }
}
