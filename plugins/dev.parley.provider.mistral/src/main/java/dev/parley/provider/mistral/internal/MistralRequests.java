package dev.parley.provider.mistral.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.model.mistralai.internal.api.MistralAiChatCompletionRequest;
import dev.langchain4j.model.mistralai.internal.api.MistralAiChatMessage;
import dev.langchain4j.model.mistralai.internal.api.MistralAiFunction;
import dev.langchain4j.model.mistralai.internal.api.MistralAiFunctionCall;
import dev.langchain4j.model.mistralai.internal.api.MistralAiImageUrlContent;
import dev.langchain4j.model.mistralai.internal.api.MistralAiJsonSchema;
import dev.langchain4j.model.mistralai.internal.api.MistralAiMessageContent;
import dev.langchain4j.model.mistralai.internal.api.MistralAiParameters;
import dev.langchain4j.model.mistralai.internal.api.MistralAiResponseFormat;
import dev.langchain4j.model.mistralai.internal.api.MistralAiResponseFormatType;
import dev.langchain4j.model.mistralai.internal.api.MistralAiRole;
import dev.langchain4j.model.mistralai.internal.api.MistralAiTextContent;
import dev.langchain4j.model.mistralai.internal.api.MistralAiTool;
import dev.langchain4j.model.mistralai.internal.api.MistralAiToolCall;
import dev.langchain4j.model.mistralai.internal.api.MistralAiToolChoiceName;
import dev.langchain4j.model.mistralai.internal.api.MistralAiToolType;
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
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Turns a Parley {@link ChatRequest} into the library's {@link MistralAiChatCompletionRequest}, refusing with
 * {@code INVALID_REQUEST} what Mistral (or the library) cannot take, before anything is sent.
 */
final class MistralRequests {

    /** Mistral's tool call ids: exactly nine characters a-z, A-Z, 0-9 (it rejects others with a 400/422). */
    static final Pattern MISTRAL_TOOL_CALL_ID = Pattern.compile("[A-Za-z0-9]{9}");
    /**
     * Limits for vision input checked before sending: 10 MB per inline image, 8 images per request, as Mistral's vision
     * FAQ stated them when this was written (not re-checked against the live service from here).
     */
    static final long MAX_IMAGE_BYTES = 10L * 1024 * 1024;
    static final int MAX_IMAGES = 8;
    private static final Set<String> IMAGE_TYPES = Set.of("image/jpeg", "image/png", "image/webp", "image/gif");
    private static final String ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<LinkedHashMap<String, Object>> MAP = new TypeReference<>() { };

    private MistralRequests() {
    }

    static MistralAiChatCompletionRequest toMistral(ChatRequest request, boolean stream, Boolean safePrompt,
            Integer randomSeed) {
        if (request.messages().isEmpty()) {
            throw invalid("a chat request needs at least one message");
        }
        int images = 0;
        for (ChatMessage m : request.messages()) {
            for (ContentPart part : m.parts()) {
                images += part.isText() ? 0 : 1;
            }
        }
        if (images > MAX_IMAGES) {
            throw invalid("Mistral takes at most " + MAX_IMAGES + " images per request, not " + images);
        }
        Map<String, String> ids = new HashMap<>();
        Map<String, String> toolNames = new HashMap<>();
        List<MistralAiChatMessage> messages = new ArrayList<>(request.messages().size());
        for (ChatMessage m : request.messages()) {
            messages.add(message(m, ids, toolNames));
        }
        ChatOptions o = request.options();
        MistralAiChatCompletionRequest.MistralAiChatCompletionRequestBuilder b = MistralAiChatCompletionRequest
                .builder()
                .model(request.model())
                .messages(messages)
                .temperature(o.temperature())
                .topP(o.topP())
                .maxTokens(o.maxTokens())
                .stream(stream)
                .safePrompt(safePrompt)
                .randomSeed(randomSeed)
                .responseFormat(responseFormat(o.responseFormat()));
        if (!o.stop().isEmpty()) {
            b.stop(o.stop().toArray(String[]::new));
        }
        tools(request.tools(), o.toolChoice(), b);
        return b.build();
    }

    private static MistralAiChatMessage message(ChatMessage m, Map<String, String> ids, Map<String, String> names) {
        switch (m.role()) {
            case SYSTEM -> {
                noImages(m);
                return MistralAiChatMessage.builder().role(MistralAiRole.SYSTEM).content(m.content()).build();
            }
            case USER -> {
                if (m.parts().isEmpty()) {
                    return MistralAiChatMessage.builder().role(MistralAiRole.USER).content(m.content()).build();
                }
                List<MistralAiMessageContent> content = new ArrayList<>(m.parts().size());
                for (ContentPart p : m.parts()) {
                    content.add(p.isText() ? new MistralAiTextContent(p.text()) : image(p));
                }
                return MistralAiChatMessage.builder().role(MistralAiRole.USER).content(content).build();
            }
            case ASSISTANT -> {
                noImages(m);
                List<MistralAiToolCall> calls = null;
                if (!m.toolCalls().isEmpty()) {
                    calls = new ArrayList<>(m.toolCalls().size());
                    for (ToolCall c : m.toolCalls()) {
                        String id = mistralId(c.id(), ids);
                        names.put(id, c.name());
                        calls.add(MistralAiToolCall.builder().id(id).type(MistralAiToolType.FUNCTION)
                                .function(MistralAiFunctionCall.builder().name(c.name()).arguments(c.argumentsJson())
                                        .build())
                                .build());
                    }
                }
                MistralAiChatMessage.MistralAiChatMessageBuilder a = MistralAiChatMessage.builder()
                        .role(MistralAiRole.ASSISTANT).toolCalls(calls);
                if (!m.content().isEmpty() || calls == null) {
                    a.content(m.content());
                }
                return a.build();
            }
            case TOOL -> {
                noImages(m);
                if (m.toolCallId() == null || m.toolCallId().isBlank()) {
                    throw invalid("a tool message needs the id of the call it answers");
                }
                String id = mistralId(m.toolCallId(), ids);
                return MistralAiChatMessage.builder().role(MistralAiRole.TOOL).toolCallId(id).name(names.get(id))
                        .content(m.content()).build();
            }
            default -> throw invalid("unsupported message role " + m.role());
        }
    }

    /** Mistral takes images as {@code image_url} parts: an http(s) URL or a base64 data URL. */
    private static MistralAiImageUrlContent image(ContentPart p) {
        if (p.url() != null) {
            String lower = p.url().toLowerCase(Locale.ROOT);
            if (!lower.startsWith("https://") && !lower.startsWith("http://")) {
                throw invalid("an image URL for Mistral must be http(s), not " + scheme(p.url()));
            }
            return new MistralAiImageUrlContent(p.url());
        }
        String type = p.mediaType().toLowerCase(Locale.ROOT);
        if (!IMAGE_TYPES.contains(type)) {
            throw invalid("Mistral takes images as JPEG, PNG, WebP or GIF, not " + p.mediaType());
        }
        if (p.data().isBlank()) {
            throw invalid("an inline image has no data");
        }
        long bytes = p.data().length() / 4L * 3;
        if (bytes > MAX_IMAGE_BYTES) {
            throw invalid("an image for Mistral may be at most 10 MB, this one is about " + (bytes >> 20) + " MB");
        }
        return new MistralAiImageUrlContent("data:" + type + ";base64," + p.data());
    }

    private static void noImages(ChatMessage m) {
        if (m.hasImages()) {
            throw invalid("Mistral takes images in user messages only, not in " + m.role().name().toLowerCase(
                    Locale.ROOT) + " messages");
        }
    }

    private static void tools(List<ToolSpec> specs, ToolChoice choice,
            MistralAiChatCompletionRequest.MistralAiChatCompletionRequestBuilder b) {
        if (specs.isEmpty()) {
            if (choice != null && choice.mode() != ToolChoice.Mode.NONE && choice.mode() != ToolChoice.Mode.AUTO) {
                throw invalid("a tool choice of " + choice.mode() + " needs tools");
            }
            return;
        }
        List<ToolSpec> offered = specs;
        MistralAiToolChoiceName name = null;
        if (choice != null) {
            switch (choice.mode()) {
                case AUTO -> name = MistralAiToolChoiceName.AUTO;
                case NONE -> name = MistralAiToolChoiceName.NONE;
                case REQUIRED -> name = MistralAiToolChoiceName.ANY;
                case TOOL -> {
                    // The library sends tool_choice only as auto/any/none, not as a named function: offering only
                    // that tool with "any" makes the model call exactly it.
                    offered = specs.stream().filter(s -> s.name().equals(choice.toolName())).toList();
                    if (offered.isEmpty()) {
                        throw invalid("the tool choice names '" + choice.toolName() + "', which is not among the tools");
                    }
                    name = MistralAiToolChoiceName.ANY;
                }
                default -> throw invalid("unsupported tool choice " + choice.mode());
            }
        }
        List<MistralAiTool> tools = new ArrayList<>(offered.size());
        for (ToolSpec s : offered) {
            tools.add(MistralAiTool.from(MistralAiFunction.builder().name(s.name()).description(s.description())
                    .parameters(parameters(s)).build()));
        }
        b.tools(tools).toolChoice(name);
    }

    /** The library carries a tool's JSON schema as type, properties and required (its top level only). */
    @SuppressWarnings("unchecked")
    private static MistralAiParameters parameters(ToolSpec s) {
        Map<String, Object> schema = s.parametersJsonSchema() == null || s.parametersJsonSchema().isBlank()
                ? Map.of("type", "object", "properties", Map.of())
                : schemaMap(s.parametersJsonSchema(), "tool '" + s.name() + "'");
        Object type = schema.getOrDefault("type", "object");
        if (!"object".equals(type)) {
            throw invalid("the parameters schema of tool '" + s.name() + "' must be of type object");
        }
        Object props = schema.getOrDefault("properties", Map.of());
        if (!(props instanceof Map<?, ?> pm)) {
            throw invalid("the parameters schema of tool '" + s.name() + "' has properties that are not an object");
        }
        Map<String, Map<String, Object>> properties = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : pm.entrySet()) {
            if (!(e.getValue() instanceof Map<?, ?> v)) {
                throw invalid("property '" + e.getKey() + "' of tool '" + s.name() + "' is not a schema object");
            }
            properties.put(String.valueOf(e.getKey()), (Map<String, Object>) v);
        }
        List<String> required = null;
        if (schema.get("required") instanceof List<?> r) {
            required = r.stream().map(String::valueOf).toList();
        }
        return MistralAiParameters.builder().type("object").properties(properties).required(required).build();
    }

    private static MistralAiResponseFormat responseFormat(ResponseFormat f) {
        if (f == null) {
            return null;
        }
        return switch (f.type()) {
            case TEXT -> MistralAiResponseFormat.fromType(MistralAiResponseFormatType.TEXT);
            case JSON_OBJECT -> MistralAiResponseFormat.fromType(MistralAiResponseFormatType.JSON_OBJECT);
            case JSON_SCHEMA -> MistralAiResponseFormat.builder().type("json_schema")
                    .jsonSchema(MistralAiJsonSchema.builder()
                            .name(f.name() == null || f.name().isBlank() ? "answer" : f.name())
                            .schema(schemaMap(f.jsonSchema(), "the response format"))
                            .strict(f.strict())
                            .build())
                    .build();
        };
    }

    private static Map<String, Object> schemaMap(String json, String what) {
        try {
            Object parsed = JSON.readValue(json, Object.class);
            if (!(parsed instanceof Map)) {
                throw invalid("the JSON schema of " + what + " is not a JSON object");
            }
            return JSON.convertValue(parsed, MAP);
        } catch (JacksonException e) {
            throw invalid("the JSON schema of " + what + " is not valid JSON");
        }
    }

    /**
     * A tool call id Mistral accepts. Ids from Mistral pass unchanged; others (a conversation that began with another
     * provider: {@code call_…}, {@code toolu_…}) become nine characters derived from them, the same within one
     * request, so an assistant's call and the tool message answering it still match.
     */
    static String mistralId(String id, Map<String, String> ids) {
        if (id == null || id.isBlank()) {
            throw invalid("a tool call needs an id");
        }
        if (MISTRAL_TOOL_CALL_ID.matcher(id).matches()) {
            return id;
        }
        return ids.computeIfAbsent(id, MistralRequests::derivedId);
    }

    private static String derivedId(String id) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
            StringBuilder b = new StringBuilder(9);
            for (int i = 0; i < 9; i++) {
                b.append(ID_ALPHABET.charAt((h[i] & 0xff) % ID_ALPHABET.length()));
            }
            return b.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    private static String scheme(String url) {
        int colon = url.indexOf(':');
        return colon > 0 && colon < 12 ? url.substring(0, colon) + ":" : "a URL without a scheme";
    }

    static ParleyException invalid(String message) {
        return new ParleyException(ErrorCode.INVALID_REQUEST, message);
    }
}
