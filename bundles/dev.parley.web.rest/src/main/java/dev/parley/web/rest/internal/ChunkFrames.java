package dev.parley.web.rest.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.llm.ChatResponse;
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
 * The frames sent once per answer (role, tool calls, finish, usage) go through Jackson.
 */
final class ChunkFrames {
    static final byte[] DONE = SseBytes.ascii("data: [DONE]\n\n");
    private static final byte[] TOKEN_SUFFIX = SseBytes.ascii("\"},\"finish_reason\":null}]}\n\n");

    private final ObjectMapper mapper;
    private final String id;
    private final long created;
    private final String model;
    private final byte[] tokenPrefix;

    ChunkFrames(ObjectMapper mapper, String id, long created, String model) {
        this.mapper = mapper;
        this.id = id;
        this.created = created;
        this.model = model;
        // Must match what Jackson writes for Chunk/ChunkChoice/Delta(content): the tests compare both shapes.
        this.tokenPrefix = ("data: {\"id\":" + quote(id) + ",\"object\":\"chat.completion.chunk\",\"created\":" + created
                + ",\"model\":" + quote(model) + ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"")
                .getBytes(StandardCharsets.UTF_8);
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
        return SseBytes.framed(tokenPrefix, delta, TOKEN_SUFFIX);
    }

    /**
     * Tool calls (if any), the finish chunk, usage (if asked for) and [DONE], as one write. Each tool call goes out as
     * OpenAI streams one: a chunk with its index, id, type, function name and empty arguments, then a chunk with its
     * index and the arguments (core hands over tool calls whole, so there is one arguments fragment per call).
     */
    byte[] end(ChatResponse r, boolean includeUsage) {
        StringBuilder out = new StringBuilder();
        List<ToolCallBody> calls = OpenAiRequests.toolCalls(r.toolCalls(), true);
        for (ToolCallBody call : calls) {
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
