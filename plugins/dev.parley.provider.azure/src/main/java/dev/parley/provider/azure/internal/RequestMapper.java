package dev.parley.provider.azure.internal;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.core.JsonValue;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.ResponseFormatJsonObject;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.ResponseFormatText;
import com.openai.models.chat.completions.ChatCompletionAssistantMessageParam;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartImage;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionMessageParam;
import com.openai.models.chat.completions.ChatCompletionMessageToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionSystemMessageParam;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.chat.completions.ChatCompletionUserMessageParam;
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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Turns a Parley {@link ChatRequest} into the SDK's chat-completions parameters (the OpenAI chat-completions body that
 * Azure OpenAI takes unchanged, "Azure OpenAI REST API reference — Chat completions"). What Azure cannot take fails
 * here with {@code INVALID_REQUEST} before anything is sent.
 */
final class RequestMapper {

    /** The image types Azure OpenAI's vision models accept (Azure OpenAI "Use vision-enabled chat models"). */
    static final Set<String> IMAGE_TYPES = Set.of("image/png", "image/jpeg", "image/jpg", "image/gif", "image/webp");
    private static final Pattern TOOL_NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    /** Azure and OpenAI take at most 128 tools and 4 stop sequences per request. */
    static final int MAX_TOOLS = 128;
    static final int MAX_STOP = 4;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<Map<String, Object>> OBJECT = new TypeReference<>() {
    };

    private RequestMapper() {
    }

    static ChatCompletionCreateParams map(ChatRequest request, String deployment, boolean streamed,
            boolean maxCompletionTokens) {
        var b = ChatCompletionCreateParams.builder().model(deployment);
        for (ChatMessage m : request.messages()) {
            b.addMessage(message(m));
        }
        if (request.tools().size() > MAX_TOOLS) {
            throw invalid("at most " + MAX_TOOLS + " tools may be given, got " + request.tools().size());
        }
        for (ToolSpec tool : request.tools()) {
            b.addTool(tool(tool));
        }
        ChatOptions o = request.options();
        if (o.temperature() != null) {
            b.temperature(o.temperature());
        }
        if (o.topP() != null) {
            b.topP(o.topP());
        }
        if (o.maxTokens() != null) {
            if (maxCompletionTokens) {
                b.maxCompletionTokens(o.maxTokens().longValue());
            } else {
                b.maxTokens(o.maxTokens().longValue());
            }
        }
        if (!o.stop().isEmpty()) {
            if (o.stop().size() > MAX_STOP) {
                throw invalid("at most " + MAX_STOP + " stop sequences may be given, got " + o.stop().size());
            }
            b.stop(ChatCompletionCreateParams.Stop.ofStrings(o.stop()));
        }
        if (o.toolChoice() != null) {
            if (request.tools().isEmpty() && o.toolChoice().mode() != ToolChoice.Mode.NONE) {
                throw invalid("a tool choice needs tools");
            }
            b.toolChoice(toolChoice(o.toolChoice(), request.tools()));
        }
        if (o.responseFormat() != null) {
            responseFormat(b, o.responseFormat());
        }
        if (streamed) {
            // Usage arrives in one more chunk with empty choices before [DONE].
            b.streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build());
        }
        return b.build();
    }

    private static ChatCompletionMessageParam message(ChatMessage m) {
        return switch (m.role()) {
            case SYSTEM -> {
                noImages(m, "a system message");
                yield ChatCompletionMessageParam.ofSystem(
                        ChatCompletionSystemMessageParam.builder().content(m.content()).build());
            }
            case USER -> ChatCompletionMessageParam.ofUser(user(m));
            case ASSISTANT -> {
                noImages(m, "an assistant message");
                var a = ChatCompletionAssistantMessageParam.builder();
                if (!m.content().isEmpty() || m.toolCalls().isEmpty()) {
                    a.content(m.content());
                }
                if (!m.toolCalls().isEmpty()) {
                    List<ChatCompletionMessageToolCall> calls = new ArrayList<>();
                    for (ToolCall c : m.toolCalls()) {
                        if (c.id() == null || c.id().isBlank()) {
                            throw invalid("a tool call sent back to Azure OpenAI needs its id");
                        }
                        calls.add(ChatCompletionMessageToolCall.ofFunction(ChatCompletionMessageFunctionToolCall.builder()
                                .id(c.id())
                                .function(ChatCompletionMessageFunctionToolCall.Function.builder()
                                        .name(c.name()).arguments(c.argumentsJson()).build())
                                .build()));
                    }
                    a.toolCalls(calls);
                }
                yield ChatCompletionMessageParam.ofAssistant(a.build());
            }
            case TOOL -> {
                noImages(m, "a tool message");
                if (m.toolCallId() == null || m.toolCallId().isBlank()) {
                    throw invalid("a tool message needs the id of the call it answers");
                }
                yield ChatCompletionMessageParam.ofTool(ChatCompletionToolMessageParam.builder()
                        .toolCallId(m.toolCallId()).content(m.content()).build());
            }
        };
    }

    private static ChatCompletionUserMessageParam user(ChatMessage m) {
        var u = ChatCompletionUserMessageParam.builder();
        if (m.parts().isEmpty()) {
            return u.content(m.content()).build();
        }
        List<ChatCompletionContentPart> parts = new ArrayList<>();
        for (ContentPart p : m.parts()) {
            if (p.isText()) {
                parts.add(ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder().text(p.text()).build()));
            } else {
                parts.add(ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder()
                        .imageUrl(ChatCompletionContentPartImage.ImageUrl.builder().url(imageUrl(p)).build())
                        .build()));
            }
        }
        return u.contentOfArrayOfContentParts(parts).build();
    }

    /** An image by URL ({@code https}, or {@code http}) or inline as a {@code data:} URL, both of which Azure takes. */
    private static String imageUrl(ContentPart p) {
        if (p.mediaType() != null && !IMAGE_TYPES.contains(p.mediaType().toLowerCase(java.util.Locale.ROOT))) {
            throw invalid("Azure OpenAI takes PNG, JPEG, GIF or WebP images, not " + p.mediaType());
        }
        if (p.url() != null) {
            String url = p.url().trim();
            String lower = url.toLowerCase(java.util.Locale.ROOT);
            if (!lower.startsWith("https://") && !lower.startsWith("http://")) {
                throw invalid("an image URL must be http(s)");
            }
            return url;
        }
        if (!p.data().matches("[A-Za-z0-9+/=\\r\\n]+")) {
            throw invalid("inline image data must be base64 (without a data: prefix)");
        }
        return "data:" + p.mediaType() + ";base64," + p.data();
    }

    private static ChatCompletionFunctionTool tool(ToolSpec spec) {
        if (!TOOL_NAME.matcher(spec.name()).matches()) {
            throw invalid("tool name '" + spec.name() + "' must be 1-64 letters, digits, '_' or '-'");
        }
        var f = FunctionDefinition.builder().name(spec.name());
        if (spec.description() != null && !spec.description().isBlank()) {
            f.description(spec.description());
        }
        if (spec.parametersJsonSchema() != null && !spec.parametersJsonSchema().isBlank()) {
            f.parameters(FunctionParameters.builder()
                    .putAllAdditionalProperties(jsonObject(spec.parametersJsonSchema(), "tool '" + spec.name() + "' schema"))
                    .build());
        }
        return ChatCompletionFunctionTool.builder().function(f.build()).build();
    }

    private static ChatCompletionToolChoiceOption toolChoice(ToolChoice choice, List<ToolSpec> tools) {
        return switch (choice.mode()) {
            case AUTO -> ChatCompletionToolChoiceOption.ofAuto(ChatCompletionToolChoiceOption.Auto.AUTO);
            case NONE -> ChatCompletionToolChoiceOption.ofAuto(ChatCompletionToolChoiceOption.Auto.NONE);
            case REQUIRED -> ChatCompletionToolChoiceOption.ofAuto(ChatCompletionToolChoiceOption.Auto.REQUIRED);
            case TOOL -> {
                if (tools.stream().noneMatch(t -> t.name().equals(choice.toolName()))) {
                    throw invalid("the tool choice names '" + choice.toolName() + "', which is not among the tools");
                }
                yield ChatCompletionToolChoiceOption.ofNamedToolChoice(ChatCompletionNamedToolChoice.builder()
                        .function(ChatCompletionNamedToolChoice.Function.builder().name(choice.toolName()).build())
                        .build());
            }
        };
    }

    private static void responseFormat(ChatCompletionCreateParams.Builder b, ResponseFormat format) {
        switch (format.type()) {
            case TEXT -> b.responseFormat(ResponseFormatText.builder().build());
            case JSON_OBJECT -> b.responseFormat(ResponseFormatJsonObject.builder().build());
            case JSON_SCHEMA -> {
                String name = format.name() == null || format.name().isBlank() ? "answer" : format.name();
                if (!TOOL_NAME.matcher(name).matches()) {
                    throw invalid("schema name '" + name + "' must be 1-64 letters, digits, '_' or '-'");
                }
                b.responseFormat(ResponseFormatJsonSchema.builder()
                        .jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder().name(name)
                                .schema(ResponseFormatJsonSchema.JsonSchema.Schema.builder()
                                        .putAllAdditionalProperties(jsonObject(format.jsonSchema(), "response schema"))
                                        .build())
                                .strict(format.strict())
                                .build())
                        .build());
            }
        }
    }

    private static Map<String, JsonValue> jsonObject(String json, String what) {
        Map<String, Object> parsed;
        try {
            parsed = JSON.readValue(json, OBJECT);
        } catch (Exception e) {
            throw invalid(what + " is not a JSON object");
        }
        if (parsed == null) {
            throw invalid(what + " is not a JSON object");
        }
        Map<String, JsonValue> out = new LinkedHashMap<>();
        parsed.forEach((k, v) -> out.put(k, JsonValue.from(v)));
        return out;
    }

    private static void noImages(ChatMessage m, String what) {
        if (m.hasImages()) {
            throw invalid("Azure OpenAI takes images in user messages only, not in " + what);
        }
    }

    static ParleyException invalid(String message) {
        return new ParleyException(ErrorCode.INVALID_REQUEST, message);
    }
}
