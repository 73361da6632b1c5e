package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.llm.ChatResponse;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.function.Consumer;

/**
 * One {@code POST /v1/responses} in servlet async mode, as {@link CompletionExchange} is for chat completions: the
 * provider's callback thread encodes each event ({@link ResponseFrames}) and queues it; nothing waits for the model or
 * the client.
 */
final class ResponsesExchange extends ModelExchange {
    private final ResponseFrames frames;

    ResponsesExchange(AsyncContext async, ObjectMapper mapper, ResponseFrames frames, boolean stream, Limits limits,
            Consumer<AsyncExchange> onEnd) throws IOException {
        super(async, mapper, stream, frames.start(), limits, onEnd);
        this.frames = frames;
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
    protected byte[] errorEvent(ErrorResponses.Failure failure) {
        return frames.failed(failure);
    }

    @Override
    protected Object errorBody(ErrorResponses.Failure failure) {
        return failure.openAi();
    }
}
