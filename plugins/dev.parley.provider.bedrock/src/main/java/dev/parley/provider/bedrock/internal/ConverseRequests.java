package dev.parley.provider.bedrock.internal;

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
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.document.Document;
import software.amazon.awssdk.services.bedrockruntime.model.AnyToolChoice;
import software.amazon.awssdk.services.bedrockruntime.model.AutoToolChoice;
import software.amazon.awssdk.services.bedrockruntime.model.ContentBlock;
import software.amazon.awssdk.services.bedrockruntime.model.ConversationRole;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseRequest;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseStreamRequest;
import software.amazon.awssdk.services.bedrockruntime.model.ImageBlock;
import software.amazon.awssdk.services.bedrockruntime.model.ImageFormat;
import software.amazon.awssdk.services.bedrockruntime.model.ImageSource;
import software.amazon.awssdk.services.bedrockruntime.model.InferenceConfiguration;
import software.amazon.awssdk.services.bedrockruntime.model.JsonSchemaDefinition;
import software.amazon.awssdk.services.bedrockruntime.model.Message;
import software.amazon.awssdk.services.bedrockruntime.model.OutputConfig;
import software.amazon.awssdk.services.bedrockruntime.model.OutputFormat;
import software.amazon.awssdk.services.bedrockruntime.model.OutputFormatStructure;
import software.amazon.awssdk.services.bedrockruntime.model.OutputFormatType;
import software.amazon.awssdk.services.bedrockruntime.model.SpecificToolChoice;
import software.amazon.awssdk.services.bedrockruntime.model.SystemContentBlock;
import software.amazon.awssdk.services.bedrockruntime.model.Tool;
import software.amazon.awssdk.services.bedrockruntime.model.ToolConfiguration;
import software.amazon.awssdk.services.bedrockruntime.model.ToolInputSchema;
import software.amazon.awssdk.services.bedrockruntime.model.ToolResultBlock;
import software.amazon.awssdk.services.bedrockruntime.model.ToolResultContentBlock;
import software.amazon.awssdk.services.bedrockruntime.model.ToolSpecification;
import software.amazon.awssdk.services.bedrockruntime.model.ToolUseBlock;

/**
 * Parley's chat request as a Converse request (Bedrock API reference, "Converse": {@code messages}, {@code system},
 * {@code inferenceConfig}, {@code toolConfig}, {@code outputConfig}). Everything the Converse API cannot take
 * fails here with {@code INVALID_REQUEST} before anything is sent.
 */
final class ConverseRequests {

    /** Converse's limits for images (API reference, ImageBlock): 3.75 MB each, 20 per request. */
    static final int MAX_IMAGE_BYTES = 3_750_000;
    static final int MAX_IMAGES = 20;

    /** The schema a plain JSON-object answer is held to: Converse's structured output always takes a schema. */
    static final String ANY_JSON_OBJECT = "{\"type\":\"object\"}";

    private ConverseRequests() {
    }

    /** The parts both Converse and ConverseStream requests carry. */
    record Parts(List<Message> messages, List<SystemContentBlock> system, InferenceConfiguration inference,
            ToolConfiguration tools, OutputConfig output) {
    }

    static ConverseStreamRequest stream(ChatRequest request) {
        Parts p = parts(request);
        return ConverseStreamRequest.builder().modelId(request.model()).messages(p.messages())
                .system(p.system().isEmpty() ? null : p.system()).inferenceConfig(p.inference())
                .toolConfig(p.tools()).outputConfig(p.output()).build();
    }

    static ConverseRequest whole(ChatRequest request) {
        Parts p = parts(request);
        return ConverseRequest.builder().modelId(request.model()).messages(p.messages())
                .system(p.system().isEmpty() ? null : p.system()).inferenceConfig(p.inference())
                .toolConfig(p.tools()).outputConfig(p.output()).build();
    }

    static Parts parts(ChatRequest request) {
        List<SystemContentBlock> system = new ArrayList<>();
        List<Message> messages = new ArrayList<>();
        ConversationRole role = null;
        List<ContentBlock> blocks = new ArrayList<>();
        boolean toolHistory = false;
        for (ChatMessage m : request.messages()) {
            if (m.role() == Role.SYSTEM) {
                if (!m.content().isBlank()) {
                    system.add(SystemContentBlock.fromText(m.content()));
                }
                continue;
            }
            ConversationRole r = m.role() == Role.ASSISTANT ? ConversationRole.ASSISTANT : ConversationRole.USER;
            List<ContentBlock> content = content(m);
            toolHistory |= m.role() == Role.TOOL || !m.toolCalls().isEmpty();
            if (content.isEmpty()) {
                continue;
            }
            // Converse wants user and assistant turns to alternate: tool results (sent as a user turn) and a user
            // message after them, or two user messages in a row, become one turn.
            if (r != role && role != null) {
                messages.add(Message.builder().role(role).content(blocks).build());
                blocks = new ArrayList<>();
            }
            role = r;
            blocks.addAll(content);
        }
        if (role != null) {
            messages.add(Message.builder().role(role).content(blocks).build());
        }
        if (messages.isEmpty()) {
            throw invalid("the request has no user or assistant message");
        }
        long images = messages.stream().flatMap(msg -> msg.content().stream()).filter(b -> b.image() != null).count();
        if (images > MAX_IMAGES) {
            throw invalid("Bedrock takes at most " + MAX_IMAGES + " images in one request, this one has " + images);
        }
        if (messages.get(0).role() != ConversationRole.USER) {
            throw invalid("a Bedrock conversation must start with a user message");
        }
        return new Parts(messages, system, inference(request.options()), tools(request, toolHistory),
                output(request.options().responseFormat()));
    }

    private static List<ContentBlock> content(ChatMessage m) {
        List<ContentBlock> out = new ArrayList<>();
        switch (m.role()) {
            case TOOL -> {
                if (m.toolCallId() == null || m.toolCallId().isBlank()) {
                    throw invalid("a tool result needs the id of the tool call it answers");
                }
                out.add(ContentBlock.fromToolResult(ToolResultBlock.builder().toolUseId(m.toolCallId())
                        .content(ToolResultContentBlock.fromText(m.content().isEmpty() ? "(empty)" : m.content()))
                        .build()));
            }
            case ASSISTANT -> {
                if (!m.content().isBlank()) {
                    out.add(ContentBlock.fromText(m.content()));
                }
                for (ToolCall call : m.toolCalls()) {
                    if (call.id() == null || call.id().isBlank()) {
                        throw invalid("an assistant tool call needs its id to be sent back to Bedrock");
                    }
                    Document input;
                    try {
                        input = JsonDocuments.parse(call.argumentsJson());
                    } catch (IllegalArgumentException e) {
                        throw invalid("the arguments of tool call '" + call.id() + "' are not valid JSON");
                    }
                    out.add(ContentBlock.fromToolUse(ToolUseBlock.builder().toolUseId(call.id()).name(call.name())
                            .input(input).build()));
                }
            }
            default -> {
                if (m.parts().isEmpty()) {
                    if (!m.content().isBlank()) {
                        out.add(ContentBlock.fromText(m.content()));
                    }
                } else {
                    for (ContentPart part : m.parts()) {
                        if (part.isText()) {
                            if (!part.text().isBlank()) {
                                out.add(ContentBlock.fromText(part.text()));
                            }
                        } else {
                            out.add(ContentBlock.fromImage(image(part)));
                        }
                    }
                }
            }
        }
        return out;
    }

    /** Converse takes image bytes (png, jpeg, gif, webp); it does not fetch URLs. */
    private static ImageBlock image(ContentPart part) {
        if (part.url() != null) {
            throw invalid("Bedrock does not fetch images by URL: send the image inline (base64)");
        }
        ImageFormat format = switch (part.mediaType().toLowerCase(Locale.ROOT).trim()) {
            case "image/png" -> ImageFormat.PNG;
            case "image/jpeg", "image/jpg" -> ImageFormat.JPEG;
            case "image/gif" -> ImageFormat.GIF;
            case "image/webp" -> ImageFormat.WEBP;
            default -> throw invalid("Bedrock takes png, jpeg, gif or webp images, not " + part.mediaType());
        };
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(part.data().replaceAll("\\s", ""));
        } catch (IllegalArgumentException e) {
            throw invalid("an image part's data is not valid base64");
        }
        if (bytes.length == 0) {
            throw invalid("an image part is empty");
        }
        if (bytes.length > MAX_IMAGE_BYTES) {
            throw invalid("an image of " + bytes.length + " bytes is larger than the 3.75 MB Bedrock takes");
        }
        return ImageBlock.builder().format(format).source(ImageSource.fromBytes(SdkBytes.fromByteArray(bytes)))
                .build();
    }

    private static InferenceConfiguration inference(ChatOptions o) {
        if (o.temperature() == null && o.topP() == null && o.maxTokens() == null && o.stop().isEmpty()) {
            return null;
        }
        InferenceConfiguration.Builder b = InferenceConfiguration.builder();
        if (o.temperature() != null) {
            b.temperature(o.temperature().floatValue());
        }
        if (o.topP() != null) {
            b.topP(o.topP().floatValue());
        }
        if (o.maxTokens() != null) {
            if (o.maxTokens() < 1) {
                throw invalid("maxTokens must be at least 1");
            }
            b.maxTokens(o.maxTokens());
        }
        if (!o.stop().isEmpty()) {
            b.stopSequences(o.stop());
        }
        return b.build();
    }

    private static ToolConfiguration tools(ChatRequest request, boolean toolHistory) {
        ToolChoice choice = request.options().toolChoice();
        if (request.tools().isEmpty()) {
            if (choice != null && choice.mode() != ToolChoice.Mode.AUTO && choice.mode() != ToolChoice.Mode.NONE) {
                throw invalid("a tool choice of " + choice.mode() + " needs tools");
            }
            return null;
        }
        // Converse has no "none": leave the tools out, unless the conversation already holds tool calls or
        // results, which Converse accepts only next to the tool definitions (then the model decides).
        if (choice != null && choice.mode() == ToolChoice.Mode.NONE && !toolHistory) {
            return null;
        }
        List<Tool> tools = new ArrayList<>();
        for (ToolSpec spec : request.tools()) {
            Document schema;
            String json = spec.parametersJsonSchema() == null || spec.parametersJsonSchema().isBlank()
                    ? ANY_JSON_OBJECT : spec.parametersJsonSchema();
            try {
                schema = JsonDocuments.parse(json);
            } catch (IllegalArgumentException e) {
                throw invalid("the parameters schema of tool '" + spec.name() + "' is not valid JSON");
            }
            if (!schema.isMap()) {
                throw invalid("the parameters schema of tool '" + spec.name() + "' is not a JSON object");
            }
            ToolSpecification.Builder ts = ToolSpecification.builder().name(spec.name())
                    .inputSchema(ToolInputSchema.fromJson(schema));
            if (spec.description() != null && !spec.description().isBlank()) {
                ts.description(spec.description());
            }
            tools.add(Tool.fromToolSpec(ts.build()));
        }
        ToolConfiguration.Builder b = ToolConfiguration.builder().tools(tools);
        if (choice != null) {
            switch (choice.mode()) {
                case AUTO -> b.toolChoice(c -> c.auto(AutoToolChoice.builder().build()));
                case REQUIRED -> b.toolChoice(c -> c.any(AnyToolChoice.builder().build()));
                case TOOL -> {
                    if (request.tools().stream().noneMatch(t -> t.name().equals(choice.toolName()))) {
                        throw invalid("the tool choice names '" + choice.toolName() + "', which is not among the tools");
                    }
                    b.toolChoice(c -> c.tool(SpecificToolChoice.builder().name(choice.toolName()).build()));
                }
                case NONE -> {
                    // Tools kept only for the history's sake; see above.
                }
            }
        }
        return b.build();
    }

    /** Structured output: Converse's {@code outputConfig.textFormat} of type {@code json_schema}. */
    private static OutputConfig output(ResponseFormat format) {
        if (format == null || format.type() == ResponseFormat.Type.TEXT) {
            return null;
        }
        String schema = format.type() == ResponseFormat.Type.JSON_SCHEMA ? format.jsonSchema() : ANY_JSON_OBJECT;
        try {
            if (!JsonDocuments.parse(schema).isMap()) {
                throw invalid("the response format's JSON schema is not a JSON object");
            }
        } catch (IllegalArgumentException e) {
            throw invalid("the response format's JSON schema is not valid JSON");
        }
        String name = format.name() == null || format.name().isBlank() ? "answer" : format.name();
        return OutputConfig.builder().textFormat(OutputFormat.builder().type(OutputFormatType.JSON_SCHEMA)
                .structure(OutputFormatStructure.fromJsonSchema(JsonSchemaDefinition.builder().name(name)
                        .schema(schema).build()))
                .build()).build();
    }

    static ParleyException invalid(String message) {
        return new ParleyException(ErrorCode.INVALID_REQUEST, message);
    }
}
