package dev.parley.provider.ollama.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.Content;
import dev.langchain4j.data.message.CustomMessage;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonRawSchema;
import dev.langchain4j.model.chat.request.json.JsonSchema;
import dev.langchain4j.model.ollama.OllamaChatRequestParameters;
import dev.langchain4j.model.output.TokenUsage;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import dev.parley.api.llm.Usage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Parley's request and answer types to and from langchain4j's, which langchain4j-ollama turns into Ollama's
 * {@code /api/chat} JSON (docs/api.md, "Generate a chat completion"): {@code messages} with {@code role},
 * {@code content}, {@code images} (base64 only) and {@code tool_calls}; {@code tools}; {@code format};
 * {@code options} ({@code temperature}, {@code top_p}, {@code num_predict}, {@code stop}).
 */
final class RequestMapping {

    private static final ObjectMapper JSON = new ObjectMapper();

    private RequestMapping() {
    }

    static dev.langchain4j.model.chat.request.ChatRequest toLangchain(ChatRequest request) {
        ChatOptions options = request.options();
        ToolChoice choice = options.toolChoice();
        if (choice != null && (choice.mode() == ToolChoice.Mode.REQUIRED || choice.mode() == ToolChoice.Mode.TOOL)) {
            throw invalid("Ollama has no tool_choice: it cannot be made to call a tool (asked for "
                    + choice.mode().name().toLowerCase(java.util.Locale.ROOT) + ")");
        }
        boolean withTools = !request.tools().isEmpty() && (choice == null || choice.mode() != ToolChoice.Mode.NONE);
        OllamaChatRequestParameters.Builder parameters = OllamaChatRequestParameters.builder()
                .modelName(request.model())
                .temperature(options.temperature())
                .topP(options.topP())
                .maxOutputTokens(options.maxTokens())
                .stopSequences(options.stop().isEmpty() ? null : options.stop())
                .responseFormat(responseFormat(options.responseFormat()));
        if (withTools) {
            List<ToolSpecification> tools = new ArrayList<>();
            for (ToolSpec t : request.tools()) {
                tools.add(tool(t));
            }
            parameters.toolSpecifications(tools);
        }
        return dev.langchain4j.model.chat.request.ChatRequest.builder()
                .messages(messages(request.messages()))
                .parameters(parameters.build())
                .build();
    }

    static List<dev.langchain4j.data.message.ChatMessage> messages(List<ChatMessage> messages) {
        if (messages.isEmpty()) {
            throw invalid("a chat needs at least one message");
        }
        List<dev.langchain4j.data.message.ChatMessage> out = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            ChatMessage m = messages.get(i);
            switch (m.role()) {
                case SYSTEM -> {
                    if (!m.content().isBlank()) {
                        out.add(SystemMessage.from(m.content()));
                    }
                }
                case USER -> out.add(user(m));
                case ASSISTANT -> out.add(assistant(m));
                case TOOL -> out.add(toolResult(m, toolName(messages, i)));
                default -> throw invalid("unknown message role " + m.role());
            }
        }
        return out;
    }

    private static UserMessage user(ChatMessage m) {
        if (m.parts().isEmpty()) {
            return UserMessage.from(TextContent.from(m.content()));
        }
        List<Content> contents = new ArrayList<>();
        for (ContentPart p : m.parts()) {
            if (p.isText()) {
                contents.add(TextContent.from(p.text()));
            } else if (p.url() != null) {
                throw invalid("Ollama accepts images only inline (base64 data); this message has an image given "
                        + "by URL — send the image's bytes instead");
            } else {
                contents.add(ImageContent.from(p.data(), p.mediaType()));
            }
        }
        return UserMessage.from(contents);
    }

    private static AiMessage assistant(ChatMessage m) {
        List<ToolExecutionRequest> calls = new ArrayList<>();
        for (ToolCall c : m.toolCalls()) {
            requireJsonObject(c.argumentsJson(), "the arguments of tool call '" + c.name() + "'");
            calls.add(ToolExecutionRequest.builder().id(c.id()).name(c.name()).arguments(c.argumentsJson()).build());
        }
        String text = m.content().isEmpty() ? null : m.content();
        if (calls.isEmpty()) {
            return AiMessage.from(text == null ? "" : text);
        }
        return AiMessage.builder().text(text).toolExecutionRequests(calls).build();
    }

    /**
     * A tool's result as Ollama's {@code {"role": "tool", "content": ..., "tool_name": ...}} (docs/api.md, "Chat
     * request (with tools)", tool results). langchain4j-ollama 1.18.1 sends tool results without
     * {@code tool_name}; a custom message goes out field by field, so it is sent that way.
     */
    private static CustomMessage toolResult(ChatMessage m, String toolName) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("role", "tool");
        fields.put("content", m.content());
        fields.put("tool_name", toolName);
        return CustomMessage.from(fields);
    }

    /** The name of the call a tool message answers, from the nearest assistant message before it. */
    private static String toolName(List<ChatMessage> messages, int toolIndex) {
        String id = messages.get(toolIndex).toolCallId();
        if (id == null || id.isBlank()) {
            throw invalid("a tool message needs the id of the call it answers");
        }
        for (int i = toolIndex - 1; i >= 0; i--) {
            ChatMessage m = messages.get(i);
            if (m.role() == dev.parley.api.chat.Role.ASSISTANT && !m.toolCalls().isEmpty()) {
                for (ToolCall c : m.toolCalls()) {
                    if (id.equals(c.id())) {
                        return c.name();
                    }
                }
                break;
            }
        }
        throw invalid("the tool result for call '" + id + "' answers no tool call of the assistant message before it");
    }

    static ToolSpecification tool(ToolSpec spec) {
        ToolSpecification.Builder b = ToolSpecification.builder().name(spec.name()).description(spec.description());
        String schema = spec.parametersJsonSchema();
        if (schema == null || schema.isBlank()) {
            return b.build();
        }
        JsonNode root = requireJsonObject(schema, "the parameters schema of tool '" + spec.name() + "'");
        JsonNode type = root.get("type");
        if (type != null && !"object".equals(type.asText())) {
            throw invalid("the parameters schema of tool '" + spec.name() + "' must be of type object");
        }
        JsonObjectSchema.Builder params = JsonObjectSchema.builder();
        JsonNode properties = root.path("properties");
        if (!properties.isMissingNode() && !properties.isObject()) {
            throw invalid("the 'properties' of tool '" + spec.name() + "' must be an object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = properties.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> p = it.next();
            if (!p.getValue().isObject()) {
                throw invalid("property '" + p.getKey() + "' of tool '" + spec.name() + "' is not a schema object");
            }
            params.addProperty(p.getKey(), JsonRawSchema.from(p.getValue().toString()));
        }
        JsonNode required = root.path("required");
        if (required.isArray()) {
            List<String> names = new ArrayList<>();
            required.forEach(n -> names.add(n.asText()));
            params.required(names);
        }
        return b.parameters(params.build()).build();
    }

    static dev.langchain4j.model.chat.request.ResponseFormat responseFormat(ResponseFormat format) {
        if (format == null || format.type() == ResponseFormat.Type.TEXT) {
            return null;
        }
        if (format.type() == ResponseFormat.Type.JSON_OBJECT) {
            return dev.langchain4j.model.chat.request.ResponseFormat.JSON;
        }
        requireJsonObject(format.jsonSchema(), "the response format's JSON schema");
        // Ollama's "format" takes the JSON schema object itself (docs/api.md, "Structured outputs").
        return dev.langchain4j.model.chat.request.ResponseFormat.builder()
                .type(ResponseFormatType.JSON)
                .jsonSchema(JsonSchema.builder()
                        .name(format.name() == null ? "answer" : format.name())
                        .rootElement(JsonRawSchema.from(format.jsonSchema()))
                        .build())
                .build();
    }

    static ChatResponse fromLangchain(dev.langchain4j.model.chat.response.ChatResponse response, String requestedModel,
            int estimatedPromptTokens) {
        AiMessage ai = response.aiMessage();
        String text = ai == null || ai.text() == null ? "" : ai.text();
        List<ToolCall> calls = new ArrayList<>();
        if (ai != null && ai.hasToolExecutionRequests()) {
            List<ToolExecutionRequest> requests = ai.toolExecutionRequests();
            for (int i = 0; i < requests.size(); i++) {
                ToolExecutionRequest r = requests.get(i);
                String args = r.arguments() == null || r.arguments().isBlank() ? "{}" : r.arguments();
                String id = r.id() == null || r.id().isBlank() ? stableId(i, r.name(), args) : r.id();
                calls.add(new ToolCall(id, r.name(), args));
            }
        }
        FinishReason finish = calls.isEmpty() ? finishReason(response.finishReason()) : FinishReason.TOOL_CALLS;
        TokenUsage usage = response.tokenUsage();
        // Ollama leaves prompt_eval_count out when the whole prompt came from its cache, and then langchain4j reports
        // no usage at all: estimate what is missing.
        int prompt = usage == null || usage.inputTokenCount() == null ? estimatedPromptTokens : usage.inputTokenCount();
        int output = usage == null || usage.outputTokenCount() == null ? (text.length() + 3) / 4
                : usage.outputTokenCount();
        String model = response.modelName() == null ? requestedModel : response.modelName();
        return new ChatResponse(text, calls, finish, new Usage(prompt, output, 0), model);
    }

    /**
     * Ollama's tool calls carry no id (langchain4j passes on one only where a newer server sends it). The id made
     * here depends only on the call's position and content, so the same answer always gets the same ids.
     */
    static String stableId(int index, String name, String arguments) {
        CRC32 crc = new CRC32();
        crc.update((name + '\0' + arguments).getBytes(StandardCharsets.UTF_8));
        return "call_" + index + "_" + String.format("%08x", crc.getValue());
    }

    private static FinishReason finishReason(dev.langchain4j.model.output.FinishReason reason) {
        if (reason == null) {
            return FinishReason.STOP;
        }
        return switch (reason) {
            case STOP -> FinishReason.STOP;
            case LENGTH -> FinishReason.LENGTH;
            case TOOL_EXECUTION -> FinishReason.TOOL_CALLS;
            case CONTENT_FILTER -> FinishReason.CONTENT_FILTER;
            default -> FinishReason.OTHER;
        };
    }

    private static JsonNode requireJsonObject(String json, String what) {
        try {
            JsonNode node = JSON.readTree(json);
            if (node == null || !node.isObject()) {
                throw invalid(what + " must be a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw invalid(what + " is not valid JSON");
        }
    }

    private static ParleyException invalid(String message) {
        return new ParleyException(ErrorCode.INVALID_REQUEST, message);
    }
}
