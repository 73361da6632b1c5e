package dev.parley.web.rest.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatStreamHandler;
import jakarta.servlet.AsyncContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One request of a vendor-compatible API (OpenAI chat completions and responses, Anthropic messages) as core's handler
 * of a stateless completion: what the three have in common. A streamed request sends its opening frame at once and its
 * errors as the API's error event; a request answered whole gets a plain response, and its errors a plain error
 * response in the API's own shape.
 */
abstract class ModelExchange extends AsyncExchange implements ChatStreamHandler {
    protected final ObjectMapper mapper;
    protected final boolean stream;

    ModelExchange(AsyncContext async, ObjectMapper mapper, boolean stream, Supplier<byte[]> openingFrame, Limits limits,
            Consumer<AsyncExchange> onEnd) throws IOException {
        super(async, limits, stream, onEnd);
        this.mapper = mapper;
        this.stream = stream;
        if (stream) {
            startEventStream();
            writer.write(openingFrame.get(), false); // encoded only for a stream
        }
    }

    /** The API's event for a failure after the stream began; the stream ends with it. */
    protected abstract byte[] errorEvent(ErrorResponses.Failure failure);

    /** The API's error body for a plain error response. */
    protected abstract Object errorBody(ErrorResponses.Failure failure);

    /** The HTTP status of a plain error response; the failure's own unless the API says otherwise. */
    protected int errorStatus(ErrorResponses.Failure failure) {
        return failure.status();
    }

    /** Core refused the request before it ran: a plain HTTP error, stream or not. */
    @Override
    final void refuse(ErrorResponses.Failure failure) {
        writer.discardQueued();
        respond(failure, errorStatus(failure), "application/json", json(errorBody(failure)));
    }

    @Override
    public final void onError(ParleyException error) {
        fail(ErrorResponses.Failure.of(error));
    }

    @Override
    protected final void fail(ErrorResponses.Failure failure) {
        if (stream) {
            writer.write(errorEvent(failure), true);
        } else {
            refuse(failure);
        }
    }

    @Override
    protected byte[] keepAlive() {
        return SseBytes.KEEP_ALIVE;
    }

    protected final byte[] json(Object value) {
        try {
            return mapper.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
