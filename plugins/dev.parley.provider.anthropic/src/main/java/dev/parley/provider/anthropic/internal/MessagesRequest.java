package dev.parley.provider.anthropic.internal;

import static com.anthropic.core.ObjectMappers.jsonMapper;

import com.anthropic.core.JsonValue;
import com.anthropic.models.messages.Base64ImageSource;
import com.anthropic.models.messages.ContentBlockParam;
import com.anthropic.models.messages.ImageBlockParam;
import com.anthropic.models.messages.JsonOutputFormat;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.MessageParam;
import com.anthropic.models.messages.OutputConfig;
import com.anthropic.models.messages.TextBlockParam;
import com.anthropic.models.messages.Tool;
import com.anthropic.models.messages.ToolChoiceAny;
import com.anthropic.models.messages.ToolChoiceAuto;
import com.anthropic.models.messages.ToolChoiceNone;
import com.anthropic.models.messages.ToolChoiceTool;
import com.anthropic.models.messages.ToolResultBlockParam;
import com.anthropic.models.messages.ToolUseBlockParam;
import com.anthropic.models.messages.UrlImageSource;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.Role;
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
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Maps a Parley {@link ChatRequest} to the SDK's {@link MessageCreateParams} (Messages API, "Create a Message").
 * Everything the vendor cannot take is refused here with {@code INVALID_REQUEST} before a byte is sent.
 */
final class MessagesRequest {

    /** The image media types the Messages API accepts in a base64 source (Vision guide, "Supported formats"). */
    static final Set<String> IMAGE_TYPES = Set.of("image/jpeg", "image/png", "image/gif", "image/webp");

    /** What JSON_OBJECT adds to the system prompt: the Messages API has a JSON-schema output, but no plain JSON mode. */
    static final String JSON_OBJECT_INSTRUCTION =
            "Answer with one JSON object only: no prose, no code fences, nothing before or after it.";

    private MessagesRequest() {
    }

    static MessageCreateParams build(ChatRequest request, long defaultMaxTokens) {
        ChatOptions o = request.options();
        var b = MessageCreateParams.builder()
                .model(request.model())
                .maxTokens(o.maxTokens() != null ? o.maxTokens() : defaultMaxTokens);
        if (o.maxTokens() != null && o.maxTokens() < 1) {
            throw invalid("maxTokens must be at least 1");
        }
        if (o.temperature() != null) {
            if (o.temperature() < 0 || o.temperature() > 1) {
                throw invalid("temperature must be between 0 and 1 for Anthropic models, got " + o.temperature());
            }
            // SDK 3.16's typed parameters no longer carry the sampling options; the Messages API body still takes them.
            b.putAdditionalBodyProperty("temperature", JsonValue.from(o.temperature()));
        }
        if (o.topP() != null) {
            if (o.topP() <= 0 || o.topP() > 1) {
                throw invalid("top_p must be in (0, 1], got " + o.topP());
            }
            b.putAdditionalBodyProperty("top_p", JsonValue.from(o.topP()));
        }
        if (!o.stop().isEmpty()) {
            b.stopSequences(o.stop());
        }

        List<String> system = new ArrayList<>();
        List<Turn> turns = new ArrayList<>();
        for (ChatMessage m : request.messages()) {
            switch (m.role()) {
                case SYSTEM -> system.add(m.content());
                case USER -> turn(turns, Role.USER).blocks.addAll(userBlocks(m));
                case ASSISTANT -> turn(turns, Role.ASSISTANT).blocks.addAll(assistantBlocks(m));
                case TOOL -> turn(turns, Role.USER).blocks.add(toolResult(m));
            }
        }
        ResponseFormat format = o.responseFormat();
        if (format != null && format.type() == ResponseFormat.Type.JSON_OBJECT) {
            system.add(JSON_OBJECT_INSTRUCTION);
        }
        if (format != null && format.type() == ResponseFormat.Type.JSON_SCHEMA) {
            JsonOutputFormat.Schema schema = parse(format.jsonSchema(), JsonOutputFormat.Schema.class,
                    "the response format's JSON schema");
            b.outputConfig(OutputConfig.builder().format(JsonOutputFormat.of(schema)).build());
        }
        if (!system.isEmpty()) {
            b.system(String.join("\n\n", system));
        }
        if (turns.isEmpty()) {
            throw invalid("the request has no user message");
        }
        for (Turn t : turns) {
            if (t.blocks.isEmpty()) {
                throw invalid("a " + t.role.name().toLowerCase(Locale.ROOT) + " message has no content");
            }
            b.addMessage(t.role == Role.USER ? MessageParam.ofUserOfContentBlockParams(t.blocks)
                    : MessageParam.ofAssistantOfContentBlockParams(t.blocks));
        }
        for (ToolSpec spec : request.tools()) {
            b.addTool(tool(spec));
        }
        ToolChoice choice = o.toolChoice();
        if (choice != null) {
            if (request.tools().isEmpty() && choice.mode() != ToolChoice.Mode.NONE
                    && choice.mode() != ToolChoice.Mode.AUTO) {
                throw invalid("a tool choice of " + choice.mode() + " needs tools");
            }
            switch (choice.mode()) {
                case AUTO -> b.toolChoice(ToolChoiceAuto.builder().build());
                case NONE -> b.toolChoice(ToolChoiceNone.builder().build());
                case REQUIRED -> b.toolChoice(ToolChoiceAny.builder().build());
                case TOOL -> {
                    if (request.tools().stream().noneMatch(t -> t.name().equals(choice.toolName()))) {
                        throw invalid("the tool choice names '" + choice.toolName() + "', which is not among the tools");
                    }
                    b.toolChoice(ToolChoiceTool.of(choice.toolName()));
                }
            }
        }
        return b.build();
    }

    /** Consecutive messages of one side go into one turn: tool results must all be in the user turn after the call. */
    private static Turn turn(List<Turn> turns, Role role) {
        if (!turns.isEmpty() && turns.get(turns.size() - 1).role == role) {
            return turns.get(turns.size() - 1);
        }
        Turn t = new Turn(role);
        turns.add(t);
        return t;
    }

    private static final class Turn {
        final Role role;
        final List<ContentBlockParam> blocks = new ArrayList<>();

        Turn(Role role) {
            this.role = role;
        }
    }

    private static List<ContentBlockParam> userBlocks(ChatMessage m) {
        List<ContentBlockParam> blocks = new ArrayList<>();
        if (m.parts().isEmpty()) {
            if (!m.content().isEmpty()) {
                blocks.add(ContentBlockParam.ofText(TextBlockParam.of(m.content())));
            }
            return blocks;
        }
        for (ContentPart p : m.parts()) {
            if (p.isText()) {
                if (!p.text().isEmpty()) {
                    blocks.add(ContentBlockParam.ofText(TextBlockParam.of(p.text())));
                }
            } else {
                blocks.add(ContentBlockParam.ofImage(image(p)));
            }
        }
        return blocks;
    }

    private static ImageBlockParam image(ContentPart p) {
        if (p.url() != null) {
            String url = p.url().toLowerCase(Locale.ROOT);
            if (!url.startsWith("https://") && !url.startsWith("http://")) {
                throw invalid("an image URL must be http(s); give other images inline (base64)");
            }
            return ImageBlockParam.builder().source(UrlImageSource.of(p.url())).build();
        }
        String type = p.mediaType().toLowerCase(Locale.ROOT).trim();
        if (!IMAGE_TYPES.contains(type)) {
            throw invalid("Anthropic accepts images of type image/jpeg, image/png, image/gif or image/webp, not "
                    + p.mediaType());
        }
        return ImageBlockParam.builder().source(Base64ImageSource.builder()
                .mediaType(Base64ImageSource.MediaType.of(type)).data(p.data()).build()).build();
    }

    private static List<ContentBlockParam> assistantBlocks(ChatMessage m) {
        if (m.hasImages()) {
            throw invalid("an assistant message cannot carry images");
        }
        List<ContentBlockParam> blocks = new ArrayList<>();
        if (!m.content().isEmpty()) {
            blocks.add(ContentBlockParam.ofText(TextBlockParam.of(m.content())));
        }
        for (ToolCall call : m.toolCalls()) {
            if (call.id() == null || call.id().isBlank()) {
                throw invalid("the assistant's call of tool '" + call.name() + "' has no id");
            }
            blocks.add(ContentBlockParam.ofToolUse(ToolUseBlockParam.builder()
                    .id(call.id())
                    .name(call.name())
                    .input(parse(call.argumentsJson(), ToolUseBlockParam.Input.class,
                            "the arguments of the call of tool '" + call.name() + "'"))
                    .build()));
        }
        return blocks;
    }

    private static ContentBlockParam toolResult(ChatMessage m) {
        if (m.toolCallId() == null || m.toolCallId().isBlank()) {
            throw invalid("a tool message needs the id of the call it answers");
        }
        return ContentBlockParam.ofToolResult(ToolResultBlockParam.builder()
                .toolUseId(m.toolCallId())
                .content(m.content())
                .build());
    }

    private static Tool tool(ToolSpec spec) {
        String schema = spec.parametersJsonSchema() == null || spec.parametersJsonSchema().isBlank()
                ? "{\"type\":\"object\",\"properties\":{}}" : spec.parametersJsonSchema();
        var b = Tool.builder()
                .name(spec.name())
                .inputSchema(parse(schema, Tool.InputSchema.class, "the parameters schema of tool '" + spec.name() + "'"));
        if (spec.description() != null && !spec.description().isBlank()) {
            b.description(spec.description());
        }
        return b.build();
    }

    /** Reads a JSON object into an SDK type; anything but an object is refused. */
    private static <T> T parse(String json, Class<T> type, String what) {
        try {
            JsonNode node = jsonMapper().readTree(json);
            if (node == null || !node.isObject()) {
                throw invalid(what + " is not a JSON object");
            }
            return jsonMapper().treeToValue(node, type);
        } catch (com.fasterxml.jackson.core.JsonProcessingException | IllegalArgumentException e) {
            throw invalid(what + " is not valid JSON");
        }
    }

    private static ParleyException invalid(String message) {
        return new ParleyException(ErrorCode.INVALID_REQUEST, message);
    }
}
