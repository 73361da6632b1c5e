package dev.parley.core.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.Role;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.ModelCapability;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import java.io.IOException;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The checks every chat API needs on a request before anything is routed or stored, whatever shape it came in
 * (OpenAI chat completions, Anthropic messages, the Responses API, the native API): tool definitions (count, names,
 * schemas), tool choice, tool-call ids in the history, images (type, size, where they may be), response formats,
 * and, once the model is known, what the model declares it accepts ({@link ModelCapability}). Failures are
 * {@code INVALID_REQUEST} (an image too large: {@code TOO_LARGE}) with {@link ParleyException#param()} set to the
 * field, named as in an OpenAI-shaped request ({@code messages[2].tool_call_id}); each front end maps that to its own
 * error shape.
 */
@Component(service = ChatRequestRules.class, configurationPid = ChatRequestRules.PID)
@Designate(ocd = ChatRequestRules.Config.class)
public final class ChatRequestRules {
    public static final String PID = "dev.parley.core.requests";

    @ObjectClassDefinition(name = "Parley chat request rules",
            description = "Limits every chat API applies before a request is routed or stored.")
    public @interface Config {
        @AttributeDefinition(name = "Most tools per request", min = "0")
        int maxTools() default DEFAULT_MAX_TOOLS;

        @AttributeDefinition(name = "Largest inline image (bytes, decoded)", min = "1",
                description = "A base64 image larger than this is refused (too-large). The request body limit of the "
                        + "front end applies as well, to the encoded text.")
        int maxImageBytes() default DEFAULT_MAX_IMAGE_BYTES;
    }

    static final int DEFAULT_MAX_TOOLS = 128;
    static final int DEFAULT_MAX_IMAGE_BYTES = 20 * 1024 * 1024;
    /** What OpenAI, Anthropic and Gemini all accept as a function name. */
    private static final Pattern TOOL_NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final Set<String> IMAGE_TYPES = Set.of("image/png", "image/jpeg", "image/gif", "image/webp");

    private final JsonFactory json = new JsonFactory();
    private volatile int maxTools;
    private volatile int maxImageBytes;

    /** Rules with the defaults, for when no configuration is bound (tests, and core before the component is). */
    public ChatRequestRules() {
        this(DEFAULT_MAX_TOOLS, DEFAULT_MAX_IMAGE_BYTES);
    }

    ChatRequestRules(int maxTools, int maxImageBytes) {
        this.maxTools = maxTools;
        this.maxImageBytes = maxImageBytes;
    }

    @Activate
    @Modified
    void configure(Config config) {
        this.maxTools = Math.max(0, config.maxTools());
        this.maxImageBytes = Math.max(1, config.maxImageBytes());
    }

    int maxTools() {
        return maxTools;
    }

    int maxImageBytes() {
        return maxImageBytes;
    }

    /** What does not depend on the model: checked before routing. */
    public void check(ChatRequest request) {
        Set<String> toolNames = tools(request);
        toolChoice(request.options().toolChoice(), toolNames);
        responseFormat(request.options().responseFormat());
        messages(request);
    }

    /** What the model declares it does not accept; a model that declares nothing gets everything passed through. */
    public void check(ChatRequest request, ModelDescriptor model) {
        Set<ModelCapability> caps = model.capabilities();
        if (caps.isEmpty()) {
            return;
        }
        if (!request.tools().isEmpty() && !caps.contains(ModelCapability.TOOLS)) {
            throw ParleyException.invalid("tools", "model " + model.id() + " does not support tools");
        }
        ResponseFormat format = request.options().responseFormat();
        if (format != null && format.type() != ResponseFormat.Type.TEXT && !caps.contains(ModelCapability.JSON_OUTPUT)) {
            throw ParleyException.invalid("response_format", "model " + model.id()
                    + " does not support JSON output (response_format " + format.type().name().toLowerCase(Locale.ROOT)
                    + ")");
        }
        if (!caps.contains(ModelCapability.VISION)) {
            for (int i = 0; i < request.messages().size(); i++) {
                if (request.messages().get(i).hasImages()) {
                    throw ParleyException.invalid("messages[" + i + "].content", "model " + model.id()
                            + " does not accept images");
                }
            }
        }
    }

    private Set<String> tools(ChatRequest request) {
        Set<String> names = new HashSet<>();
        if (request.tools().size() > maxTools) {
            throw ParleyException.invalid("tools", request.tools().size() + " tools; at most " + maxTools
                    + " are allowed per request");
        }
        for (int i = 0; i < request.tools().size(); i++) {
            ToolSpec t = request.tools().get(i);
            String param = "tools[" + i + "].function";
            if (!TOOL_NAME.matcher(t.name()).matches()) {
                throw ParleyException.invalid(param + ".name", "tool name '" + shorten(t.name())
                        + "' must be 1 to 64 letters, digits, '_' or '-'");
            }
            if (!names.add(t.name())) {
                throw ParleyException.invalid(param + ".name", "tool name '" + t.name() + "' is defined twice");
            }
            if (t.parametersJsonSchema() != null && !isJsonObject(t.parametersJsonSchema())) {
                throw ParleyException.invalid(param + ".parameters", "the parameters of tool '" + t.name()
                        + "' must be a JSON Schema object");
            }
        }
        return names;
    }

    private static void toolChoice(ToolChoice choice, Set<String> tools) {
        if (choice == null || choice.mode() == ToolChoice.Mode.NONE || choice.mode() == ToolChoice.Mode.AUTO) {
            return;
        }
        if (tools.isEmpty()) {
            throw ParleyException.invalid("tool_choice", "tool_choice '" + (choice.mode() == ToolChoice.Mode.TOOL
                    ? choice.toolName() : "required") + "' needs tools, and the request has none");
        }
        if (choice.mode() == ToolChoice.Mode.TOOL && !tools.contains(choice.toolName())) {
            throw ParleyException.invalid("tool_choice", "tool_choice names tool '" + shorten(choice.toolName())
                    + "', which is not among the request's tools");
        }
    }

    private void responseFormat(ResponseFormat format) {
        if (format == null || format.type() != ResponseFormat.Type.JSON_SCHEMA) {
            return;
        }
        if (format.name() != null && !TOOL_NAME.matcher(format.name()).matches()) {
            throw ParleyException.invalid("response_format.json_schema.name", "the schema name must be 1 to 64 "
                    + "letters, digits, '_' or '-'");
        }
        if (!isJsonObject(format.jsonSchema())) {
            throw ParleyException.invalid("response_format.json_schema.schema", "the response format's schema must "
                    + "be a JSON Schema object");
        }
    }

    /**
     * Tool-call ids: every tool message answers a call of an earlier assistant message that is not answered yet, and
     * every call is answered before the conversation goes on (OpenAI refuses both, and other vendors lose track).
     */
    private void messages(ChatRequest request) {
        Map<String, Integer> open = new LinkedHashMap<>();
        for (int i = 0; i < request.messages().size(); i++) {
            ChatMessage m = request.messages().get(i);
            if (m.role() != Role.TOOL && !open.isEmpty()) {
                throw unanswered(open);
            }
            switch (m.role()) {
                case ASSISTANT -> {
                    for (int c = 0; c < m.toolCalls().size(); c++) {
                        ToolCall call = m.toolCalls().get(c);
                        if (call.id() == null || call.id().isBlank()) {
                            throw ParleyException.invalid("messages[" + i + "].tool_calls[" + c + "].id",
                                    "a tool call in the history needs its id");
                        }
                        if (open.putIfAbsent(call.id(), i) != null) {
                            throw ParleyException.invalid("messages[" + i + "].tool_calls[" + c + "].id",
                                    "tool call id '" + shorten(call.id()) + "' is used twice");
                        }
                    }
                }
                case TOOL -> {
                    if (open.remove(m.toolCallId()) == null) {
                        throw ParleyException.invalid("messages[" + i + "].tool_call_id", "tool message " + i
                                + " answers tool call '" + shorten(String.valueOf(m.toolCallId()))
                                + "', which no earlier assistant message asked for (or which is answered already)");
                    }
                }
                default -> {
                }
            }
            images(m, i);
        }
        if (!open.isEmpty()) {
            throw unanswered(open);
        }
    }

    private static ParleyException unanswered(Map<String, Integer> open) {
        int at = open.values().iterator().next();
        return ParleyException.invalid("messages[" + at + "].tool_calls", "the tool calls of assistant message " + at
                + " must each be answered by a tool message before the conversation goes on; no answer for: "
                + shorten(String.join(", ", open.keySet())));
    }

    private void images(ChatMessage m, int i) {
        for (int p = 0; p < m.parts().size(); p++) {
            ContentPart part = m.parts().get(p);
            if (part.isText()) {
                continue;
            }
            String param = "messages[" + i + "].content[" + p + "]";
            if (m.role() != Role.USER) {
                throw ParleyException.invalid(param, "images are accepted in user messages only");
            }
            String type = part.mediaType() == null ? null : part.mediaType().toLowerCase(Locale.ROOT);
            if (type != null && !IMAGE_TYPES.contains(type)) {
                throw ParleyException.invalid(param, "image type '" + shorten(part.mediaType())
                        + "' is not supported; use image/png, image/jpeg, image/gif or image/webp");
            }
            if (part.url() != null) {
                String url = part.url().toLowerCase(Locale.ROOT);
                if (!url.startsWith("https://") && !url.startsWith("http://")) {
                    throw ParleyException.invalid(param, "an image URL must be http(s) or a data: URL of a base64 image");
                }
                continue;
            }
            long bytes = decodedLength(part.data());
            if (bytes < 0) {
                throw ParleyException.invalid(param, "the image's data is not valid base64");
            }
            if (bytes > maxImageBytes) {
                throw new ParleyException(ErrorCode.TOO_LARGE, "image of " + bytes + " bytes; at most "
                        + maxImageBytes + " are accepted", null, null, param);
            }
        }
    }

    /** The decoded size of standard base64 text, or -1 when it is not that (checked in one pass, nothing decoded). */
    static long decodedLength(String base64) {
        int n = base64.length();
        if (n == 0 || n % 4 != 0) {
            return -1;
        }
        int padding = 0;
        for (int i = 0; i < n; i++) {
            char c = base64.charAt(i);
            boolean alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+'
                    || c == '/';
            if (c == '=' && i >= n - 2) {
                padding++;
            } else if (!alphabet || padding > 0) {
                return -1;
            }
        }
        return (long) n / 4 * 3 - padding;
    }

    private boolean isJsonObject(String text) {
        try (JsonParser p = json.createParser(text)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return false;
            }
            p.skipChildren();
            return p.nextToken() == null;
        } catch (JacksonException e) {
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    private static String shorten(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "…" : s;
    }
}
