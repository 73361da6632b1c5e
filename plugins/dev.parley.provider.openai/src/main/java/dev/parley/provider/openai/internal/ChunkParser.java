package dev.parley.provider.openai.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.Usage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the {@code data:} payloads of one chat-completions stream with Jackson's streaming parser, straight from
 * the bytes, and accumulates the answer. Only what Parley uses is read ({@code choices[0].delta.content},
 * {@code choices[0].delta.tool_calls}, {@code choices[0].finish_reason}, {@code usage}, {@code model},
 * {@code error}); everything else is skipped without being turned into strings or objects.
 *
 * <p>One non-blocking parser serves the whole stream, fed one payload at a time: creating a parser per chunk
 * cost more than reading the chunk (about 600 bytes of garbage each). Each payload must hold exactly one JSON
 * object; running out of input inside it is a protocol error, not a wait. Not thread-safe.
 */
final class ChunkParser implements UpstreamAnswer {

    private final JsonParser p;
    private final ByteArrayFeeder feeder;
    /** Bytes fed so far: the parser's locations count across payloads. */
    private long fed;
    private final StringBuilder text = new StringBuilder();
    private final List<ToolCallBuilder> toolCalls = new ArrayList<>(2);
    /** The tool-call pieces the last chunk carried, in order; see {@link #toolCallDeltas()}. */
    private final List<ToolCallDelta> deltas = new ArrayList<>(1);
    /** How many calls have been announced by a first piece: the next call's {@link ToolCallDelta#index()}. */
    private int announced;
    private String finishReason;
    private String model;
    private int promptTokens = -1;
    private int completionTokens = -1;
    private int cachedTokens;
    private boolean progressed;

    ChunkParser(JsonFactory json) {
        try {
            this.p = json.createNonBlockingByteArrayParser();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        this.feeder = (ByteArrayFeeder) p.getNonBlockingInputFeeder();
    }

    /**
     * Reads one chunk. Returns its content delta (null when it carried none).
     *
     * @throws com.fasterxml.jackson.core.JacksonException when the payload is not one JSON object
     * @throws UpstreamStreamError when the chunk is an error object
     */
    String accept(byte[] data, int offset, int length) throws IOException {
        progressed = false;
        deltas.clear();
        String delta = null;
        UpstreamStreamError error = null;
        long fedBefore = fed;
        fed += length;
        feeder.feedInput(data, offset, offset + length);
        if (next() != JsonToken.START_OBJECT) {
            throw new JsonParseException(p, "a stream chunk must be a JSON object");
        }
        while (next() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = next();
            switch (field) {
                case "choices" -> delta = choices(value);
                case "usage" -> usage(value);
                case "model" -> {
                    // The same in every chunk: read it once.
                    if (model == null && value == JsonToken.VALUE_STRING) {
                        model = p.getText();
                    }
                }
                case "error" -> error = error(value);
                default -> skip(value);
            }
        }
        // Whitespace may follow; anything else is a second value in one event. Checked on the bytes: the parser
        // would take the start of a token ("tru…") as a wait for more input.
        int rest = offset + (int) (p.currentLocation().getByteOffset() - fedBefore);
        for (int i = rest; i < offset + length; i++) {
            byte b = data[i];
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                throw new JsonParseException(p, "content after the chunk's JSON object");
            }
        }
        if (p.nextToken() != JsonToken.NOT_AVAILABLE) {
            throw new JsonParseException(p, "content after the chunk's JSON object");
        }
        if (error != null) {
            throw error;
        }
        if (delta != null) {
            text.append(delta);
        }
        if (progressed && !toolCalls.isEmpty()) {
            collectDeltas();
        }
        return delta;
    }

    /**
     * The tool-call pieces the last chunk carried, in order, numbered by the order the calls started. A call is
     * announced (index, id, name) once its name has arrived, with whatever arguments came so far; each later chunk
     * adds the arguments it brought. Joined, one call's pieces are its arguments as {@link #toolCalls()} gives them
     * (a call that brought none gets its {@code "{}"} from {@link #closingToolCallDeltas()}).
     */
    List<ToolCallDelta> toolCallDeltas() {
        return deltas;
    }

    @Override
    public List<ToolCallDelta> closingToolCallDeltas() {
        List<ToolCallDelta> out = List.of();
        for (ToolCallBuilder b : toolCalls) {
            if (b.deltaIndex >= 0 && b.arguments.isEmpty()) {
                out = new ArrayList<>(out);
                out.add(new ToolCallDelta(b.deltaIndex, null, null, "{}"));
            }
        }
        return out;
    }

    private void collectDeltas() {
        for (ToolCallBuilder b : toolCalls) {
            if (b.name == null) {
                continue; // some servers send the name after the id: the call starts once it is known
            }
            int length = b.arguments.length();
            if (b.deltaIndex < 0) {
                b.deltaIndex = announced++;
                deltas.add(new ToolCallDelta(b.deltaIndex, b.id, b.name, b.arguments.toString()));
            } else if (length > b.sent) {
                deltas.add(new ToolCallDelta(b.deltaIndex, null, null, b.arguments.substring(b.sent)));
            }
            b.sent = length;
        }
    }

    /** True when the last chunk carried answer content or a piece of a tool call. */
    boolean progressed() {
        return progressed;
    }

    private String choices(JsonToken value) throws IOException {
        if (value != JsonToken.START_ARRAY) {
            skip(p.currentToken());
            return null;
        }
        String delta = null;
        boolean first = true;
        for (JsonToken t = next(); t != JsonToken.END_ARRAY; t = next()) {
            if (first && t == JsonToken.START_OBJECT) {
                delta = choice();
            } else {
                skip(p.currentToken()); // Parley asks for one choice (n defaults to 1)
            }
            first = false;
        }
        return delta;
    }

    private String choice() throws IOException {
        String delta = null;
        while (next() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = next();
            if ("delta".equals(field) && value == JsonToken.START_OBJECT) {
                delta = delta();
            } else if ("finish_reason".equals(field) && value == JsonToken.VALUE_STRING) {
                finishReason = p.getText();
            } else {
                skip(p.currentToken());
            }
        }
        return delta;
    }

    private String delta() throws IOException {
        String content = null;
        while (next() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = next();
            if ("content".equals(field) && value == JsonToken.VALUE_STRING) {
                if (p.getTextLength() > 0) {
                    content = p.getText();
                    progressed = true;
                }
            } else if ("tool_calls".equals(field) && value == JsonToken.START_ARRAY) {
                int position = 0;
                for (JsonToken t = next(); t != JsonToken.END_ARRAY; t = next()) {
                    if (t == JsonToken.START_OBJECT) {
                        toolCall(position);
                        progressed = true;
                    } else {
                        skip(p.currentToken());
                    }
                    position++;
                }
            } else {
                skip(p.currentToken());
            }
        }
        return content;
    }

    /** One fragment of a tool call: {@code {index, id?, type?, function: {name?, arguments?}}}. */
    private void toolCall(int position) throws IOException {
        int index = -1;
        String id = null;
        String name = null;
        ToolCallBuilder target = null;
        // Arguments that arrive before the index (unusual field order) wait here.
        String earlyArguments = null;
        while (next() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = next();
            switch (field) {
                case "index" -> {
                    if (value == JsonToken.VALUE_NUMBER_INT) {
                        index = p.getIntValue();
                        target = builder(index);
                    }
                }
                case "id" -> {
                    if (value == JsonToken.VALUE_STRING && p.getTextLength() > 0) {
                        id = p.getText();
                    }
                }
                case "function" -> {
                    if (value != JsonToken.START_OBJECT) {
                        skip(p.currentToken());
                        break;
                    }
                    while (next() == JsonToken.FIELD_NAME) {
                        String f = p.currentName();
                        JsonToken v = next();
                        if ("name".equals(f) && v == JsonToken.VALUE_STRING && p.getTextLength() > 0) {
                            name = p.getText();
                        } else if ("arguments".equals(f) && v == JsonToken.VALUE_STRING) {
                            if (target != null) {
                                // Straight from the parser's buffer: no String per fragment.
                                target.arguments.append(p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
                            } else {
                                earlyArguments = p.getText();
                            }
                        } else {
                            skip(p.currentToken());
                        }
                    }
                }
                default -> skip(p.currentToken());
            }
        }
        if (target == null) {
            target = withoutIndex(id, position);
        }
        if (id != null) {
            target.id = id;
        }
        if (name != null) {
            target.name = name;
        }
        if (earlyArguments != null) {
            target.arguments.append(earlyArguments);
        }
    }

    private ToolCallBuilder builder(int index) {
        for (ToolCallBuilder b : toolCalls) {
            if (b.index == index) {
                return b;
            }
        }
        ToolCallBuilder b = new ToolCallBuilder(index);
        toolCalls.add(b);
        return b;
    }

    /**
     * Some OpenAI-compatible servers leave out the index: a fragment with a new id starts a call, one without an
     * id continues the last call.
     */
    private ToolCallBuilder withoutIndex(String id, int position) {
        ToolCallBuilder last = toolCalls.isEmpty() ? null : toolCalls.get(toolCalls.size() - 1);
        if (last != null && (id == null || id.equals(last.id))) {
            return last;
        }
        int index = position;
        for (ToolCallBuilder b : toolCalls) {
            index = Math.max(index, b.index + 1);
        }
        return builder(index);
    }

    private void usage(JsonToken value) throws IOException {
        if (value != JsonToken.START_OBJECT) {
            skip(p.currentToken()); // "usage": null in every chunk but the last
            return;
        }
        while (next() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken v = next();
            if ("prompt_tokens".equals(field) && v == JsonToken.VALUE_NUMBER_INT) {
                promptTokens = p.getIntValue();
            } else if ("completion_tokens".equals(field) && v == JsonToken.VALUE_NUMBER_INT) {
                completionTokens = p.getIntValue();
            } else if ("prompt_tokens_details".equals(field) && v == JsonToken.START_OBJECT) {
                while (next() == JsonToken.FIELD_NAME) {
                    String f = p.currentName();
                    JsonToken d = next();
                    if ("cached_tokens".equals(f) && d == JsonToken.VALUE_NUMBER_INT) {
                        cachedTokens = p.getIntValue();
                    } else {
                        skip(d);
                    }
                }
            } else {
                skip(p.currentToken());
            }
        }
    }

    private UpstreamStreamError error(JsonToken value) throws IOException {
        if (value == JsonToken.VALUE_STRING) {
            return new UpstreamStreamError(p.getText(), null, null);
        }
        if (value != JsonToken.START_OBJECT) {
            skip(p.currentToken());
            return value == JsonToken.VALUE_NULL ? null : new UpstreamStreamError(null, null, null);
        }
        String message = null;
        String type = null;
        String code = null;
        while (next() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken v = next();
            boolean scalar = v == JsonToken.VALUE_STRING || v == JsonToken.VALUE_NUMBER_INT;
            if ("message".equals(field) && v == JsonToken.VALUE_STRING) {
                message = p.getText();
            } else if ("type".equals(field) && v == JsonToken.VALUE_STRING) {
                type = p.getText();
            } else if ("code".equals(field) && scalar) {
                code = p.getText();
            } else {
                skip(p.currentToken());
            }
        }
        return new UpstreamStreamError(message, type, code);
    }

    /** The next token of the current payload; the payload ending inside its object is malformed. */
    private JsonToken next() throws IOException {
        JsonToken t = p.nextToken();
        if (t == JsonToken.NOT_AVAILABLE || t == null) {
            throw new JsonParseException(p, "a stream chunk ends inside its JSON object");
        }
        return t;
    }

    /** Skips the value that starts with {@code t} (the parser's own skipChildren would wait for more input). */
    private void skip(JsonToken t) throws IOException {
        if (t != JsonToken.START_OBJECT && t != JsonToken.START_ARRAY) {
            return;
        }
        int depth = 1;
        while (depth > 0) {
            JsonToken n = next();
            if (n == JsonToken.START_OBJECT || n == JsonToken.START_ARRAY) {
                depth++;
            } else if (n == JsonToken.END_OBJECT || n == JsonToken.END_ARRAY) {
                depth--;
            }
        }
    }

    /** Gives the parser's buffers back; call once the stream has ended, from the thread that fed it. */
    void close() {
        try {
            p.close();
        } catch (IOException ignored) {
            // nothing to release that matters
        }
    }

    // ---- the answer so far --------------------------------------------------------------------------------------

    @Override
    public String text() {
        return text.toString();
    }

    /** The complete tool calls, in index order. */
    @Override
    public List<ToolCall> toolCalls() {
        if (toolCalls.isEmpty()) {
            return List.of();
        }
        List<ToolCallBuilder> sorted = new ArrayList<>(toolCalls);
        sorted.sort((a, b) -> Integer.compare(a.index, b.index));
        List<ToolCall> out = new ArrayList<>(sorted.size());
        for (ToolCallBuilder b : sorted) {
            if (b.name == null) {
                throw new UpstreamProtocolException("a tool call without a function name");
            }
            out.add(new ToolCall(b.id, b.name, b.arguments.isEmpty() ? "{}" : b.arguments.toString()));
        }
        return out;
    }

    @Override
    public FinishReason finishReason(boolean hasToolCalls) {
        return UpstreamAnswer.finishReason(finishReason, hasToolCalls);
    }

    /** What upstream reported, or null when it reported no usage. */
    @Override
    public Usage usage() {
        return UpstreamAnswer.usage(promptTokens, completionTokens, cachedTokens);
    }

    /** The model upstream says answered, or null. */
    @Override
    public String model() {
        return model;
    }

    private static final class ToolCallBuilder {
        final int index;
        final StringBuilder arguments = new StringBuilder();
        String id;
        String name;
        /** Its index among the streamed pieces ({@link ToolCallDelta#index()}), -1 until announced. */
        int deltaIndex = -1;
        /** How much of {@link #arguments} has gone out in pieces. */
        int sent;

        ToolCallBuilder(int index) {
            this.index = index;
        }
    }
}
