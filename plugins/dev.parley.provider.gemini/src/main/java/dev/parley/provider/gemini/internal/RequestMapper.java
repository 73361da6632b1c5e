package dev.parley.provider.gemini.internal;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.Content;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.internal.JsonSchemaElementJsonUtils;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonSchema;
import dev.langchain4j.model.chat.request.json.JsonSchemaElement;
import dev.langchain4j.model.googleai.GoogleAiGeminiChatRequestParameters;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parley's request in langchain4j's terms, which its Gemini module then writes as the API's JSON: system messages
 * become {@code systemInstruction}, users and tool results {@code user} contents, the assistant {@code model}
 * contents; tools {@code functionDeclarations}; options {@code generationConfig}.
 *
 * <p>Gemini function calls carry no ids. Parley's {@link ToolCall}s need one, so an answer's calls are numbered
 * ({@link #toolCallId}); a TOOL message names the call it answers by that id, and is sent back as a
 * {@code functionResponse} under the name of that call, found in the assistant message that asked for it.
 */
final class RequestMapper {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern DATA_URL = Pattern.compile("data:([^;,]+);base64,(.+)", Pattern.DOTALL);

    private RequestMapper() {
    }

    /** The id of the {@code index}-th function call of an answer, when Gemini gave it none. */
    static String toolCallId(int index, String name) {
        return "call_" + index + "_" + name;
    }

    static dev.langchain4j.model.chat.request.ChatRequest map(ChatRequest request) {
        Map<String, String> callNames = new HashMap<>();
        List<dev.langchain4j.data.message.ChatMessage> messages = new ArrayList<>();
        for (ChatMessage m : request.messages()) {
            switch (m.role()) {
                case SYSTEM -> messages.add(SystemMessage.from(m.content()));
                case USER -> messages.add(user(m));
                case ASSISTANT -> {
                    if (m.toolCalls().isEmpty()) {
                        messages.add(AiMessage.from(m.content()));
                    } else {
                        List<ToolExecutionRequest> calls = new ArrayList<>();
                        for (ToolCall c : m.toolCalls()) {
                            if (c.id() != null) {
                                callNames.put(c.id(), c.name());
                            }
                            calls.add(ToolExecutionRequest.builder().id(c.id()).name(c.name())
                                    .arguments(c.argumentsJson()).build());
                        }
                        messages.add(m.content().isEmpty() ? AiMessage.from(calls)
                                : AiMessage.from(m.content(), calls));
                    }
                }
                case TOOL -> {
                    String name = callNames.get(m.toolCallId());
                    if (name == null) {
                        throw invalid("a tool result answers call '" + m.toolCallId()
                                + "', which no earlier assistant message asked for");
                    }
                    messages.add(ToolExecutionResultMessage.from(m.toolCallId(), name, m.content()));
                }
            }
        }
        ChatOptions o = request.options();
        GoogleAiGeminiChatRequestParameters.Builder p = GoogleAiGeminiChatRequestParameters.builder()
                .modelName(request.model())
                .temperature(o.temperature())
                .topP(o.topP())
                .maxOutputTokens(o.maxTokens());
        if (!o.stop().isEmpty()) {
            p.stopSequences(o.stop());
        }
        List<ToolSpec> tools = request.tools();
        ToolChoice choice = o.toolChoice();
        if (choice != null && choice.mode() == ToolChoice.Mode.TOOL) {
            // The API's allowedFunctionNames is set per model in langchain4j, not per request: offering only the
            // named function with mode ANY has the same effect (the model must call it).
            tools = tools.stream().filter(t -> t.name().equals(choice.toolName())).toList();
            if (tools.isEmpty()) {
                throw invalid("tool choice names '" + choice.toolName() + "', which is not among the tools");
            }
        }
        if (!tools.isEmpty()) {
            p.toolSpecifications(tools.stream().map(RequestMapper::tool).toList());
            if (choice != null) {
                p.toolChoice(switch (choice.mode()) {
                    case AUTO -> dev.langchain4j.model.chat.request.ToolChoice.AUTO;
                    case NONE -> dev.langchain4j.model.chat.request.ToolChoice.NONE;
                    case REQUIRED, TOOL -> dev.langchain4j.model.chat.request.ToolChoice.REQUIRED;
                });
            }
        } else if (choice != null && choice.mode() == ToolChoice.Mode.REQUIRED) {
            throw invalid("tool choice 'required' needs at least one tool");
        }
        ResponseFormat format = o.responseFormat();
        if (format != null && format.type() != ResponseFormat.Type.TEXT) {
            dev.langchain4j.model.chat.request.ResponseFormat.Builder f =
                    dev.langchain4j.model.chat.request.ResponseFormat.builder().type(ResponseFormatType.JSON);
            if (format.type() == ResponseFormat.Type.JSON_SCHEMA) {
                f.jsonSchema(JsonSchema.builder().name(format.name() == null ? "answer" : format.name())
                        .rootElement(schema(format.jsonSchema(), "response format")).build());
            }
            p.responseFormat(f.build());
        }
        return dev.langchain4j.model.chat.request.ChatRequest.builder().messages(messages).parameters(p.build())
                .build();
    }

    private static UserMessage user(ChatMessage m) {
        if (m.parts().isEmpty()) {
            return UserMessage.from(m.content());
        }
        List<Content> contents = new ArrayList<>();
        for (ContentPart part : m.parts()) {
            if (part.isText()) {
                contents.add(TextContent.from(part.text()));
            } else if (part.data() != null) {
                contents.add(ImageContent.from(part.data(), part.mediaType()));
            } else {
                Matcher data = DATA_URL.matcher(part.url());
                if (!data.matches()) {
                    // generateContent takes images inline or as file_data with a Files API URI; langchain4j would
                    // download any http(s) URL from inside this plugin instead, so a URL is refused.
                    throw invalid("the Gemini provider takes images inline (base64 or a data: URL), not by URL");
                }
                contents.add(ImageContent.from(data.group(2), data.group(1)));
            }
        }
        return UserMessage.from(contents);
    }

    private static ToolSpecification tool(ToolSpec spec) {
        ToolSpecification.Builder b = ToolSpecification.builder().name(spec.name()).description(spec.description());
        if (spec.parametersJsonSchema() != null && !spec.parametersJsonSchema().isBlank()) {
            JsonSchemaElement schema = schema(spec.parametersJsonSchema(), "tool '" + spec.name() + "'");
            if (!(schema instanceof JsonObjectSchema object)) {
                throw invalid("the parameters of tool '" + spec.name() + "' must be a JSON schema of type object");
            }
            b.parameters(object);
        }
        return b.build();
    }

    private static JsonSchemaElement schema(String text, String what) {
        Map<String, Object> map;
        try {
            map = JSON.readValue(text, new TypeReference<Map<String, Object>>() { });
        } catch (IOException e) {
            throw invalid("the JSON schema of " + what + " is not a JSON object");
        }
        try {
            return JsonSchemaElementJsonUtils.fromMap(map);
        } catch (RuntimeException e) {
            throw invalid("the JSON schema of " + what + " cannot be used: " + e.getMessage());
        }
    }

    private static ParleyException invalid(String message) {
        return new ParleyException(ErrorCode.INVALID_REQUEST, message);
    }
}
