package dev.parley.web.rest.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.web.rest.internal.OpenAiBodies.AssistantMessage;
import dev.parley.web.rest.internal.OpenAiBodies.ChatCompletion;
import dev.parley.web.rest.internal.OpenAiBodies.Choice;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.function.Consumer;

/**
 * One {@code POST /v1/chat/completions} in servlet async mode: core's handler for the completion. The provider's
 * callback thread encodes each event ({@link ChunkFrames}) and hands it to an {@link AsyncWriter}; no thread waits
 * for the model or the client. A client that leaves or falls too far behind, or a completion past the request
 * timeout, has the completion cancelled, which stops the upstream call.
 */
final class CompletionExchange extends AsyncExchange implements ChatStreamHandler {
    private final ObjectMapper mapper;
    private final ChunkFrames frames;
    private final boolean stream;
    private final boolean includeUsage;

    CompletionExchange(AsyncContext async, ObjectMapper mapper, ChunkFrames frames, boolean stream,
            boolean includeUsage, Limits limits, Consumer<AsyncExchange> onEnd) throws IOException {
        super(async, limits, stream, onEnd);
        this.mapper = mapper;
        this.frames = frames;
        this.stream = stream;
        this.includeUsage = includeUsage;
        if (stream) {
            startEventStream();
            writer.write(frames.role(), false);
        }
    }

    /** Core refused the completion before it ran: a plain HTTP error, stream or not. */
    @Override
    void refuse(ErrorResponses.Failure failure) {
        writer.discardQueued();
        respond(failure.status(), failure.retryAfterSeconds(), "application/json", json(failure.openAi()));
    }

    @Override
    public void onToken(String delta) {
        if (stream) {
            writer.write(frames.token(delta), false);
        }
    }

    @Override
    public void onComplete(ChatResponse r) {
        if (stream) {
            writer.write(frames.end(r, includeUsage), true);
            return;
        }
        String answeredBy = r.model() == null ? frames.model() : r.model();
        ChatCompletion completion = new ChatCompletion(frames.id(), "chat.completion", frames.created(), answeredBy,
                // As OpenAI: content is null, not "", when the answer is tool calls only.
                List.of(new Choice(0, new AssistantMessage("assistant", r.text().isEmpty() && !r.toolCalls().isEmpty()
                        ? null : r.text(), OpenAiRequests.toolCalls(r.toolCalls(),
                        false)), RestBodies.finishReason(r.finishReason()))), OpenAiRequests.usage(r.usage()));
        respond(HttpServletResponse.SC_OK, null, "application/json", json(completion));
    }

    @Override
    public void onError(ParleyException error) {
        fail(ErrorResponses.Failure.of(error));
    }

    @Override
    protected void fail(ErrorResponses.Failure failure) {
        if (stream) {
            writer.write(frames.error(failure), true);
        } else {
            refuse(failure);
        }
    }

    @Override
    protected byte[] keepAlive() {
        return SseBytes.KEEP_ALIVE;
    }

    private byte[] json(Object value) {
        try {
            return mapper.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
