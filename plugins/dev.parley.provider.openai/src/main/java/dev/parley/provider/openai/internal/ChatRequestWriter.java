package dev.parley.provider.openai.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolSpec;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Writes the body of a {@code POST /chat/completions}, streamed or not, with Jackson's streaming generator: the same
 * fields, in the same order, as the langchain4j client Parley used before sent.
 */
final class ChatRequestWriter {

    private ChatRequestWriter() {
    }

    /** The body of a streamed call. */
    static byte[] write(JsonFactory json, ChatRequest request) {
        return write(json, request, true);
    }

    /** {@code stream}: ask for server-sent events (with usage in the last chunk), else for one JSON answer. */
    static byte[] write(JsonFactory json, ChatRequest request, boolean stream) {
        ByteArrayBuilder out = new ByteArrayBuilder(512);
        try (JsonGenerator g = json.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("model", request.model());
            g.writeArrayFieldStart("messages");
            for (ChatMessage m : request.messages()) {
                message(g, m);
            }
            g.writeEndArray();
            ChatOptions o = request.options();
            if (o.temperature() != null) {
                g.writeNumberField("temperature", o.temperature());
            }
            if (o.topP() != null) {
                g.writeNumberField("top_p", o.topP());
            }
            g.writeBooleanField("stream", stream);
            if (stream) {
                // Usage in streams must be asked for; it then comes in a last chunk with empty choices.
                g.writeObjectFieldStart("stream_options");
                g.writeBooleanField("include_usage", true);
                g.writeEndObject();
            }
            if (!o.stop().isEmpty()) {
                g.writeArrayFieldStart("stop");
                for (String s : o.stop()) {
                    g.writeString(s);
                }
                g.writeEndArray();
            }
            if (o.maxTokens() != null) {
                // max_tokens, not max_completion_tokens: what compatible servers (vLLM, Ollama, llama.cpp) know.
                g.writeNumberField("max_tokens", o.maxTokens());
            }
            if (!request.tools().isEmpty()) {
                g.writeArrayFieldStart("tools");
                for (ToolSpec t : request.tools()) {
                    tool(json, g, t);
                }
                g.writeEndArray();
                if (o.toolChoice() != null) {
                    toolChoice(g, o.toolChoice());
                }
            }
            if (o.responseFormat() != null) {
                responseFormat(json, g, o.responseFormat());
            }
            g.writeEndObject();
        } catch (IOException e) {
            // Writing to memory; only a broken generator gets here.
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void message(JsonGenerator g, ChatMessage m) throws IOException {
        g.writeStartObject();
        switch (m.role()) {
            case SYSTEM -> {
                g.writeStringField("role", "system");
                g.writeStringField("content", m.content());
            }
            case USER -> {
                g.writeStringField("role", "user");
                if (m.parts().isEmpty()) {
                    g.writeStringField("content", m.content());
                } else {
                    parts(g, m);
                }
            }
            case ASSISTANT -> {
                g.writeStringField("role", "assistant");
                if (m.toolCalls().isEmpty() || !m.content().isEmpty()) {
                    g.writeStringField("content", m.content());
                }
                if (!m.toolCalls().isEmpty()) {
                    g.writeArrayFieldStart("tool_calls");
                    for (ToolCall c : m.toolCalls()) {
                        g.writeStartObject();
                        if (c.id() != null) {
                            g.writeStringField("id", c.id());
                        }
                        g.writeStringField("type", "function");
                        g.writeObjectFieldStart("function");
                        g.writeStringField("name", c.name());
                        g.writeStringField("arguments", c.argumentsJson());
                        g.writeEndObject();
                        g.writeEndObject();
                    }
                    g.writeEndArray();
                }
            }
            case TOOL -> {
                g.writeStringField("role", "tool");
                if (m.toolCallId() != null) {
                    g.writeStringField("tool_call_id", m.toolCallId());
                }
                g.writeStringField("content", m.content());
            }
        }
        g.writeEndObject();
    }

    /** Text and image parts, as OpenAI's content array; an inline image becomes a {@code data:} URL. */
    private static void parts(JsonGenerator g, ChatMessage m) throws IOException {
        g.writeArrayFieldStart("content");
        for (ContentPart part : m.parts()) {
            g.writeStartObject();
            if (part.isText()) {
                g.writeStringField("type", "text");
                g.writeStringField("text", part.text());
            } else {
                g.writeStringField("type", "image_url");
                g.writeObjectFieldStart("image_url");
                if (part.url() != null) {
                    g.writeStringField("url", part.url());
                } else {
                    g.writeStringField("url", "data:" + part.mediaType() + ";base64," + part.data());
                }
                g.writeEndObject();
            }
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    /** {@code "auto"}, {@code "none"}, {@code "required"} or {@code {"type":"function","function":{"name"}}}. */
    private static void toolChoice(JsonGenerator g, ToolChoice choice) throws IOException {
        switch (choice.mode()) {
            case AUTO -> g.writeStringField("tool_choice", "auto");
            case NONE -> g.writeStringField("tool_choice", "none");
            case REQUIRED -> g.writeStringField("tool_choice", "required");
            case TOOL -> {
                g.writeObjectFieldStart("tool_choice");
                g.writeStringField("type", "function");
                g.writeObjectFieldStart("function");
                g.writeStringField("name", choice.toolName());
                g.writeEndObject();
                g.writeEndObject();
            }
        }
    }

    /** {@code {"type":"text"}}, {@code {"type":"json_object"}} or a {@code json_schema} with its schema copied. */
    private static void responseFormat(JsonFactory json, JsonGenerator g, ResponseFormat format) throws IOException {
        g.writeObjectFieldStart("response_format");
        switch (format.type()) {
            case TEXT -> g.writeStringField("type", "text");
            case JSON_OBJECT -> g.writeStringField("type", "json_object");
            case JSON_SCHEMA -> {
                g.writeStringField("type", "json_schema");
                g.writeObjectFieldStart("json_schema");
                // OpenAI requires a name; a format that came without one (another API's) gets a neutral one.
                g.writeStringField("name", format.name() == null || format.name().isBlank() ? "response" : format.name());
                g.writeFieldName("schema");
                try (JsonParser p = json.createParser(format.jsonSchema())) {
                    if (p.nextToken() != JsonToken.START_OBJECT) {
                        throw invalidFormat(null);
                    }
                    g.copyCurrentStructure(p);
                    if (p.nextToken() != null) {
                        throw invalidFormat(null);
                    }
                } catch (JacksonException e) {
                    throw invalidFormat(e);
                }
                if (format.strict()) {
                    g.writeBooleanField("strict", true);
                }
                g.writeEndObject();
            }
        }
        g.writeEndObject();
    }

    private static ParleyException invalidFormat(Throwable cause) {
        return new ParleyException(ErrorCode.INVALID_REQUEST, "the response format's JSON schema is not a JSON object",
                null, cause, "response_format.json_schema.schema");
    }

    private static void tool(JsonFactory json, JsonGenerator g, ToolSpec spec) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "function");
        g.writeObjectFieldStart("function");
        g.writeStringField("name", spec.name());
        if (spec.description() != null) {
            g.writeStringField("description", spec.description());
        }
        g.writeFieldName("parameters");
        parameters(json, g, spec);
        g.writeEndObject();
        g.writeEndObject();
    }

    /**
     * The tool's JSON Schema, copied token by token. The top level is always an object schema with properties, as
     * OpenAI requires; every other keyword passes through as the tool declared it.
     */
    private static void parameters(JsonFactory json, JsonGenerator g, ToolSpec spec) throws IOException {
        String schema = spec.parametersJsonSchema();
        g.writeStartObject();
        g.writeStringField("type", "object");
        if (schema == null || schema.isBlank()) {
            g.writeObjectFieldStart("properties");
            g.writeEndObject();
            g.writeArrayFieldStart("required");
            g.writeEndArray();
            g.writeEndObject();
            return;
        }
        boolean sawProperties = false;
        try (JsonParser p = json.createParser(schema)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw invalidSchema(spec, null);
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                if ("type".equals(field)) {
                    p.skipChildren();
                    continue;
                }
                sawProperties |= "properties".equals(field);
                g.writeFieldName(field);
                g.copyCurrentStructure(p);
            }
            if (p.nextToken() != null) {
                throw invalidSchema(spec, null);
            }
        } catch (JacksonException e) {
            throw invalidSchema(spec, e);
        }
        if (!sawProperties) {
            g.writeObjectFieldStart("properties");
            g.writeEndObject();
        }
        g.writeEndObject();
    }

    private static ParleyException invalidSchema(ToolSpec spec, Throwable cause) {
        return new ParleyException(ErrorCode.INVALID_REQUEST,
                "tool '" + spec.name() + "' has a parameters schema that is not a JSON object", cause);
    }
}
