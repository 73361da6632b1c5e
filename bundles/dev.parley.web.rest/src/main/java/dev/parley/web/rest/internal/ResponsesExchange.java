package dev.parley.web.rest.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.Consumer;

/**
 * One {@code POST /v1/responses} in servlet async mode, as {@link CompletionExchange} is for chat completions: the
 * provider's callback thread encodes each event ({@link ResponseFrames}) and queues it; nothing waits for the model or
 * the client.
 */
final class ResponsesExchange extends AsyncExchange implements ChatStreamHandler {
    private final ObjectMapper mapper;
    private final ResponseFrames frames;
    private final boolean stream;

    ResponsesExchange(AsyncContext async, ObjectMapper mapper, ResponseFrames frames, boolean stream, Limits limits,
            Consumer<AsyncExchange> onEnd) throws IOException {
        super(async, limits, stream, onEnd);
        this.mapper = mapper;
        this.frames = frames;
        this.stream = stream;
        if (stream) {
            startEventStream();
            writer.write(frames.start(), false);
        }
    }

    @Override
    void refuse(ErrorResponses.Failure failure) {
        writer.discardQueued();
        respond(failure.status(), failure.retryAfterSeconds(), "application/json", json(failure.openAi()));
    }

    @Override
    public void onToken(String delta) {
        if (stream) {
            writer.write(frames.delta(delta), false);
        }
    }

    @Override
    public void onComplete(ChatResponse r) {
        if (stream) {
            writer.write(frames.end(r), true);
        } else {
            respond(HttpServletResponse.SC_OK, null, "application/json", json(frames.response(r)));
        }
    }

    @Override
    public void onError(ParleyException error) {
        fail(ErrorResponses.Failure.of(error));
    }

    @Override
    protected void fail(ErrorResponses.Failure failure) {
        if (stream) {
            writer.write(frames.failed(failure), true);
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
