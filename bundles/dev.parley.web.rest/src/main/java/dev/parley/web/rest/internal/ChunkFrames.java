package dev.parley.web.rest.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.web.rest.internal.OpenAiBodies.Chunk;
import dev.parley.web.rest.internal.OpenAiBodies.ChunkChoice;
import dev.parley.web.rest.internal.OpenAiBodies.Delta;
import dev.parley.web.rest.internal.OpenAiBodies.ToolCallBody;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The SSE frames of one streamed {@code chat.completion.chunk} answer, as bytes. A token frame is the request's
 * pre-encoded prefix, the JSON-escaped delta and a constant suffix: no object tree and no serializer per chunk.
 * The other frames (role, tool call pieces, finish, usage) go through Jackson. Chunks name the model asked for until
 * core names the one answering ({@link #answering}), then that one.
 */
final class ChunkFrames {
    static final byte[] DONE = SseBytes.ascii("data: [DONE]\n\n");
    private static final byte[] TOKEN_SUFFIX = SseBytes.ascii("\"},\"finish_reason\":null}]}\n\n");

    private final ObjectMapper mapper;
    private final String id;
    private final long created;
    /** Written by the one thread that delivers the answer's callbacks (they never overlap), read by it too. */
    private volatile String model;
    private volatile byte[] tokenPrefix;

    ChunkFrames(ObjectMapper mapper, String id, long created, String model) {
        this.mapper = mapper;
        this.id = id;
        this.created = created;
        this.model = model; // the token prefix is built by the first token: an answer sent whole never needs it
    }

    /** From now on chunks name {@code answeringModel}. */
    void answering(String answeringModel) {
        if (java.util.Objects.equals(answeringModel, model)) {
            return; // the usual case: the frames already name it
        }
        this.model = answeringModel;
        this.tokenPrefix = null;
    }

    private byte[] tokenPrefix() {
        byte[] prefix = tokenPrefix;
        if (prefix != null) {
            return prefix;
        }
        String answeringModel = model;
        // Must match what Jackson writes for Chunk/ChunkChoice/Delta(content): the tests compare both shapes.
        prefix = ("data: {\"id\":" + quote(id) + ",\"object\":\"chat.completion.chunk\",\"created\":" + created
                + ",\"model\":" + quote(answeringModel) + ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"")
                .getBytes(StandardCharsets.UTF_8);
        tokenPrefix = prefix;
        return prefix;
    }

    String id() {
        return id;
    }

    long created() {
        return created;
    }

    String model() {
        return model;
    }

    byte[] role() {
        return data(chunk(new Delta("assistant", null, null), null));
    }

    byte[] token(String delta) {
        return SseBytes.framed(tokenPrefix(), delta, TOKEN_SUFFIX);
    }

    /**
     * A piece of a tool call as OpenAI streams it: the call's first chunk has its index, id, type, function name and
     * the first arguments fragment (possibly ""), later chunks only the index and more arguments.
     */
    byte[] toolCall(ToolCallDelta d) {
        ToolCallBody body = d.starts()
                ? new ToolCallBody(d.index(), d.id(), "function", new OpenAiBodies.FunctionCall(d.name(), d.argumentsDelta()))
                : new ToolCallBody(d.index(), null, null, new OpenAiBodies.FunctionCall(null, d.argumentsDelta()));
        return data(chunk(new Delta(null, null, List.of(body)), null));
    }

    /**
     * The tool calls not streamed in pieces (those from index {@code streamedCalls} on), the finish chunk, usage (if
     * asked for) and [DONE], as one write. A call not streamed goes out as OpenAI streams one: a chunk with its index,
     * id, type, function name and empty arguments, then a chunk with its index and the whole arguments.
     */
    byte[] end(ChatResponse r, boolean includeUsage, int streamedCalls) {
        StringBuilder out = new StringBuilder();
        List<ToolCallBody> calls = OpenAiRequests.toolCalls(r.toolCalls(), true);
        for (ToolCallBody call : calls.subList(Math.min(streamedCalls, calls.size()), calls.size())) {
            ToolCallBody header = new ToolCallBody(call.index(), call.id(), "function",
                    new OpenAiBodies.FunctionCall(call.function().name(), ""));
            ToolCallBody arguments = new ToolCallBody(call.index(), null, null,
                    new OpenAiBodies.FunctionCall(null, call.function().arguments()));
            out.append(dataText(chunk(new Delta(null, null, List.of(header)), null)));
            out.append(dataText(chunk(new Delta(null, null, List.of(arguments)), null)));
        }
        out.append(dataText(chunk(new Delta(null, null, null), RestBodies.finishReason(r.finishReason()))));
        if (includeUsage) {
            out.append(dataText(new Chunk(id, "chat.completion.chunk", created, r.model() == null ? model : r.model(),
                    List.of(), OpenAiRequests.usage(r.usage()))));
        }
        out.append("data: [DONE]\n\n");
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** OpenAI's convention for a failure after streaming began: an error object, then the end without [DONE]. */
    byte[] error(ErrorResponses.Failure failure) {
        return data(failure.openAi());
    }

    private Chunk chunk(Delta delta, String finishReason) {
        return new Chunk(id, "chat.completion.chunk", created, model, List.of(new ChunkChoice(0, delta, finishReason)),
                null);
    }

    private byte[] data(Object value) {
        return dataText(value).getBytes(StandardCharsets.UTF_8);
    }

    private String dataText(Object value) {
        try {
            return "data: " + mapper.writeValueAsString(value) + "\n\n";
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String quote(String s) {
        return "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + "\"";
    }

}
