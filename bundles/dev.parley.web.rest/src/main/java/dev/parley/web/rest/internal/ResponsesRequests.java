package dev.parley.web.rest.internal;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.Role;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * OpenAI Responses API request bodies ({@code POST /v1/responses}) in, Parley requests out: {@code instructions} and
 * {@code input} (a string, or items: messages with {@code input_text}, {@code input_image} and {@code output_text}
 * parts, {@code function_call} and {@code function_call_output}) become the messages, {@code tools} (function tools,
 * Responses' flat shape) and {@code tool_choice} the tools, {@code text.format} the response format. What Parley
 * cannot do statelessly or does not serve ({@code previous_response_id}, built-in tools, other item types) is refused
 * with a clear 400 rather than ignored. The checks every chat API shares are core's; {@link Mapped#inResponsesTerms}
 * names the field of a refusal as this API's request has it.
 */
final class ResponsesRequests {
    private static final Pattern CORE_TOOL_PARAM = Pattern.compile("^tools\\[(\\d+)]\\.function\\.");
    private static final Pattern CORE_MESSAGE_PARAM = Pattern.compile("^messages\\[(\\d+)](.*)$");
    private static final String TOOL_CHOICE_SHAPES = "'tool_choice' must be auto, none, required or "
            + "{\"type\":\"function\",\"name\":...}.";

    private ResponsesRequests() {
    }

    /** Unknown fields are ignored, as for chat completions; {@code input}, {@code tools} and {@code text} stay trees. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ResponsesRequest(String model, JsonNode input, String instructions, Boolean stream, Double temperature,
            Double topP, Integer maxOutputTokens, JsonNode tools, JsonNode toolChoice, Boolean parallelToolCalls,
            JsonNode text, String previousResponseId, JsonNode metadata) {
    }

    /**
     * The request for core, and where each of its messages came from in the Responses request ({@code instructions},
     * {@code input} or {@code input[i]}; an assistant message made of several items names the first).
     */
    record Mapped(ChatRequest request, List<String> messageOrigins) {
        /**
         * A refusal of core's, whose {@code param} names the field as a chat-completions request has it
         * ({@code messages[2].content[1]}, {@code tools[0].function.name}), with the field as this request has it.
         */
        ParleyException inResponsesTerms(ParleyException e) {
            String param = e.param().orElse(null);
            if (param == null) {
                return e;
            }
            String mapped = CORE_TOOL_PARAM.matcher(param).replaceFirst("tools[$1].");
            Matcher m = CORE_MESSAGE_PARAM.matcher(param);
            if (m.matches() && Integer.parseInt(m.group(1)) < messageOrigins.size()) {
                String origin = messageOrigins.get(Integer.parseInt(m.group(1)));
                mapped = origin.startsWith("input[") ? origin + m.group(2) : origin;
            }
            return mapped.equals(param) ? e
                    : new ParleyException(e.code(), e.getMessage(), e.retryAfter().orElse(null), e, mapped);
        }
    }

    static Mapped chatRequest(ResponsesRequest body) {
        if (body == null) {
            throw ParleyException.invalid(null, "The request body must be a JSON object.");
        }
        if (body.previousResponseId() != null) {
            throw ParleyException.invalid("previous_response_id", "Parley keeps no responses: send the whole "
                    + "conversation in 'input' instead of 'previous_response_id'.");
        }
        if (body.maxOutputTokens() != null && body.maxOutputTokens() <= 0) {
            throw ParleyException.invalid("max_output_tokens", "'max_output_tokens' must be positive.");
        }
        List<ToolSpec> tools = tools(body.tools());
        History history = new History();
        if (body.instructions() != null && !body.instructions().isBlank()) {
            history.add(ChatMessage.system(body.instructions()), "instructions");
        }
        input(body.input(), history);
        // parallel_tool_calls is accepted and not forwarded, as on /v1/chat/completions: the model server's default.
        ChatOptions options = new ChatOptions(body.temperature(), body.topP(), body.maxOutputTokens(), List.of(),
                toolChoice(body.toolChoice()), format(body.text()));
        return new Mapped(new ChatRequest(body.model() == null ? "" : body.model(), history.messages, options, tools),
                history.origins);
    }

    /** Responses' flat function tools, {@code {type:"function", name, description?, parameters?, strict?}}, only. */
    private static List<ToolSpec> tools(JsonNode tools) {
        if (tools == null || tools.isNull() || tools.isMissingNode()) {
            return List.of();
        }
        if (!tools.isArray()) {
            throw ParleyException.invalid("tools", "'tools' must be an array of tools.");
        }
        List<ToolSpec> out = new ArrayList<>(tools.size());
        for (int i = 0; i < tools.size(); i++) {
            JsonNode t = tools.get(i);
            String at = "tools[" + i + "]";
            if (!t.isObject() || !t.path("type").isTextual()) {
                throw ParleyException.invalid(at + ".type", "'" + at + "' must be an object with a 'type'; Parley "
                        + "serves {\"type\":\"function\",\"name\",\"parameters\"}.");
            }
            String type = t.get("type").textValue();
            if (!type.equals("function")) {
                throw ParleyException.invalid(at + ".type", "Tool type '" + shorten(type) + "' is not served on "
                        + "/v1/responses: Parley runs no built-in tools; only function tools (type \"function\") are.");
            }
            if (!t.path("name").isTextual() && t.has("function")) {
                throw ParleyException.invalid(at + ".name", "'" + at + ".name' is required: Responses function tools "
                        + "are flat ({\"type\":\"function\",\"name\",\"parameters\"}), not nested in 'function'.");
            }
            JsonNode description = t.path("description");
            if (!description.isMissingNode() && !description.isNull() && !description.isTextual()) {
                throw ParleyException.invalid(at + ".description", "'" + at + ".description' must be a string.");
            }
            JsonNode strict = t.path("strict");
            if (!strict.isMissingNode() && !strict.isNull() && !strict.isBoolean()) {
                throw ParleyException.invalid(at + ".strict", "'" + at + ".strict' must be a boolean.");
            }
            out.add(OpenAiRequests.tool(t.path("name").textValue(), description.textValue(), t.get("parameters"), at));
        }
        return out;
    }

    /** {@code "auto" | "none" | "required" | {"type":"function","name"}}; hosted tools' choices are refused. */
    private static ToolChoice toolChoice(JsonNode choice) {
        if (choice == null || choice.isNull() || choice.isMissingNode()) {
            return null;
        }
        if (choice.isTextual()) {
            return switch (choice.textValue()) {
                case "auto" -> ToolChoice.AUTO;
                case "none" -> ToolChoice.NONE;
                case "required" -> ToolChoice.REQUIRED;
                default -> throw ParleyException.invalid("tool_choice", TOOL_CHOICE_SHAPES);
            };
        }
        if (!choice.isObject()) {
            throw ParleyException.invalid("tool_choice", TOOL_CHOICE_SHAPES);
        }
        String type = choice.path("type").asText("");
        if (!type.equals("function")) {
            throw ParleyException.invalid("tool_choice", TOOL_CHOICE_SHAPES
                    + (type.isEmpty() ? "" : " Type '" + shorten(type) + "' is not served on /v1/responses."));
        }
        JsonNode name = choice.path("name");
        if (!name.isTextual() || name.textValue().isBlank()) {
            throw ParleyException.invalid("tool_choice", TOOL_CHOICE_SHAPES);
        }
        return ToolChoice.tool(name.textValue());
    }

    /**
     * The messages being built, where each came from, and the function calls not answered yet: an output must answer
     * an earlier call of the input, and every call is answered before the next message (as OpenAI requires).
     */
    private static final class History {
        final List<ChatMessage> messages = new ArrayList<>();
        final List<String> origins = new ArrayList<>();
        final Set<String> callIds = new HashSet<>();
        final Map<String, String> open = new LinkedHashMap<>();

        void add(ChatMessage m, String origin) {
            messages.add(m);
            origins.add(origin);
        }

        void message(ChatMessage m, String at) {
            int last = messages.size() - 1;
            if (m.role() == Role.ASSISTANT && !open.isEmpty() && messages.get(last).role() == Role.ASSISTANT
                    && !m.hasImages()) {
                // Text the model gave after its calls, in the same answer: one assistant message, as before.
                ChatMessage before = messages.get(last);
                messages.set(last, new ChatMessage(Role.ASSISTANT, before.content() + m.content(), before.toolCalls(),
                        null));
                return;
            }
            requireAnswered();
            add(m, at);
        }

        /** An earlier assistant call: joins the assistant message (text or calls) just before it, else starts one. */
        void call(JsonNode item, String at) {
            String callId = requiredText(item, "call_id", at);
            String name = requiredText(item, "name", at);
            JsonNode arguments = item.path("arguments");
            if (!arguments.isTextual()) {
                throw ParleyException.invalid(at + ".arguments", "'" + at + ".arguments' must be a string: the "
                        + "arguments as JSON text.");
            }
            if (!callIds.add(callId)) {
                throw ParleyException.invalid(at + ".call_id", "function_call '" + shorten(callId) + "' appears twice "
                        + "in 'input'.");
            }
            ToolCall call = new ToolCall(callId, name, arguments.textValue());
            int last = messages.size() - 1;
            ChatMessage before = last < 0 ? null : messages.get(last);
            if (before != null && before.role() == Role.ASSISTANT) {
                List<ToolCall> calls = new ArrayList<>(before.toolCalls());
                calls.add(call);
                messages.set(last, new ChatMessage(Role.ASSISTANT, before.content(), before.parts(), calls, null));
            } else {
                requireAnswered();
                add(ChatMessage.assistant("", List.of(call)), at);
            }
            open.put(callId, at);
        }

        /** A tool's result, for a call of this input not answered yet. */
        void output(JsonNode item, String at) {
            String callId = requiredText(item, "call_id", at);
            if (open.remove(callId) == null) {
                throw ParleyException.invalid(at + ".call_id", "function_call_output '" + shorten(callId)
                        + "' answers no function_call before it in 'input'" + (callIds.contains(callId)
                                ? " (that call is answered already)." : "."));
            }
            add(ChatMessage.tool(callId, outputText(item.path("output"), at + ".output")), at);
        }

        void requireAnswered() {
            if (!open.isEmpty()) {
                var first = open.entrySet().iterator().next();
                throw ParleyException.invalid(first.getValue(), "function_call '" + shorten(first.getKey())
                        + "' needs its function_call_output before the conversation goes on; none for: "
                        + shorten(String.join(", ", open.keySet())));
            }
        }
    }

    private static String requiredText(JsonNode item, String field, String at) {
        JsonNode v = item.path(field);
        if (!v.isTextual() || v.textValue().isBlank()) {
            throw ParleyException.invalid(at + "." + field, "'" + at + "." + field + "' is required.");
        }
        return v.textValue();
    }

    /** A string, or {@code input_text} parts (joined as given). */
    private static String outputText(JsonNode output, String at) {
        if (output.isTextual()) {
            return output.textValue();
        }
        if (!output.isArray()) {
            throw ParleyException.invalid(at, "'" + at + "' must be a string or an array of input_text parts.");
        }
        StringBuilder text = new StringBuilder();
        for (int p = 0; p < output.size(); p++) {
            JsonNode part = output.get(p);
            if (!"input_text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                throw ParleyException.invalid(at + "[" + p + "]", "'" + at + "[" + p + "]' must be an input_text "
                        + "part: a tool's output is text on /v1/responses.");
            }
            text.append(part.get("text").textValue());
        }
        return text.toString();
    }

    private static void input(JsonNode input, History out) {
        if (input == null || input.isNull() || input.isMissingNode()) {
            throw ParleyException.invalid("input", "'input' is required: a string or an array of input items.");
        }
        if (input.isTextual()) {
            if (input.textValue().isEmpty()) {
                throw ParleyException.invalid("input", "'input' must not be empty.");
            }
            out.add(ChatMessage.user(input.textValue()), "input");
            return;
        }
        if (!input.isArray() || input.isEmpty()) {
            throw ParleyException.invalid("input", "'input' must be a string or a non-empty array of input items.");
        }
        for (int i = 0; i < input.size(); i++) {
            JsonNode item = input.get(i);
            String at = "input[" + i + "]";
            if (!item.isObject()) {
                throw ParleyException.invalid(at, "'" + at + "' must be an input item object.");
            }
            String type = item.path("type").asText("message");
            switch (type) {
                case "message" -> {
                    Role role = switch (item.path("role").asText("").toLowerCase(Locale.ROOT)) {
                        case "user" -> Role.USER;
                        case "assistant" -> Role.ASSISTANT;
                        case "system", "developer" -> Role.SYSTEM;
                        default -> throw ParleyException.invalid(at + ".role", "'" + at
                                + ".role' must be user, assistant, system or developer.");
                    };
                    out.message(message(role, item.path("content"), at), at);
                }
                case "function_call" -> out.call(item, at);
                case "function_call_output" -> out.output(item, at);
                default -> throw ParleyException.invalid(at + ".type", "Input items on /v1/responses are message, "
                        + "function_call and function_call_output; '" + shorten(type) + "' is not served.");
            }
        }
        out.requireAnswered();
    }

    private static ChatMessage message(Role role, JsonNode content, String at) {
        if (content.isTextual()) {
            return new ChatMessage(role, content.textValue(), List.of(), null);
        }
        if (!content.isArray()) {
            throw ParleyException.invalid(at + ".content", "'" + at + ".content' must be a string or an array of "
                    + "content parts.");
        }
        List<ContentPart> parts = new ArrayList<>();
        for (int p = 0; p < content.size(); p++) {
            JsonNode part = content.get(p);
            String param = at + ".content[" + p + "]";
            switch (part.path("type").asText("")) {
                case "input_text", "output_text" -> {
                    if (!part.path("text").isTextual()) {
                        throw ParleyException.invalid(param + ".text", "'" + param + ".text' must be a string.");
                    }
                    parts.add(ContentPart.text(part.get("text").textValue()));
                }
                case "input_image" -> parts.add(OpenAiRequests.image(part.path("image_url"), part.path("detail"),
                        param + ".image_url", param + ".detail"));
                default -> throw ParleyException.invalid(param + ".type", "'" + param + ".type' must be input_text, "
                        + "input_image or output_text.");
            }
        }
        if (parts.stream().allMatch(ContentPart::isText)) {
            StringBuilder text = new StringBuilder();
            parts.forEach(p -> text.append(p.text()));
            return new ChatMessage(role, text.toString(), List.of(), null);
        }
        return new ChatMessage(role, null, parts, List.of(), null);
    }

    /** {@code text.format}: {@code {type:text}}, {@code {type:json_object}}, {@code {type:json_schema,name,schema,strict}}. */
    private static ResponseFormat format(JsonNode text) {
        if (text == null || text.isNull() || text.path("format").isMissingNode() || text.path("format").isNull()) {
            return null;
        }
        JsonNode f = text.get("format");
        String type = f.path("type").asText("");
        return switch (type) {
            case "text" -> ResponseFormat.TEXT;
            case "json_object" -> ResponseFormat.JSON_OBJECT;
            case "json_schema" -> {
                if (!f.path("name").isTextual()) {
                    throw ParleyException.invalid("text.format.name", "'text.format.name' is required.");
                }
                if (!f.path("schema").isObject()) {
                    throw ParleyException.invalid("text.format.schema", "'text.format.schema' must be a JSON Schema "
                            + "object.");
                }
                yield ResponseFormat.jsonSchema(f.get("name").textValue(), f.get("schema").toString(),
                        f.path("strict").asBoolean(false));
            }
            default -> throw ParleyException.invalid("text.format.type", "'text.format.type' must be text, "
                    + "json_object or json_schema.");
        };
    }

    /** The {@code text} object a response echoes: the format asked for, else plain text. */
    static ObjectNode textConfig(JsonNode requested) {
        ObjectNode text = JsonNodeFactory.instance.objectNode();
        JsonNode format = requested == null ? null : requested.path("format");
        if (format == null || !format.isObject()) {
            text.putObject("format").put("type", "text");
        } else {
            text.set("format", format.deepCopy());
        }
        return text;
    }

    /** The {@code tools} a response echoes: each function tool as Responses lists it. */
    static ArrayNode toolsConfig(JsonNode requested) {
        ArrayNode tools = JsonNodeFactory.instance.arrayNode();
        if (requested != null && requested.isArray()) {
            for (JsonNode t : requested) {
                ObjectNode tool = tools.addObject().put("type", "function").put("name", t.path("name").asText());
                tool.set("description", t.path("description").isTextual() ? t.get("description") : NullNode.instance);
                tool.set("parameters", t.path("parameters").isObject() ? t.get("parameters").deepCopy() : NullNode.instance);
                tool.set("strict", t.path("strict").isBoolean() ? t.get("strict") : NullNode.instance);
            }
        }
        return tools;
    }

    /** The {@code tool_choice} a response echoes: the one asked for, else {@code auto}. */
    static JsonNode toolChoiceConfig(JsonNode requested) {
        return requested == null || requested.isNull() || requested.isMissingNode() ? TextNode.valueOf("auto")
                : requested.deepCopy();
    }

    private static String shorten(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "…" : s;
    }
}
