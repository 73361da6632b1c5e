package dev.parley.web.rest.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.web.rest.internal.AnthropicBodies.Message;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.Consumer;

/**
 * One {@code POST /v1/messages} in servlet async mode, as {@link CompletionExchange} is for chat completions: the
 * provider's callback thread encodes each event ({@link MessageEvents}) and hands it to the {@link AsyncWriter}.
 */
final class MessagesExchange extends AsyncExchange implements ChatStreamHandler {
    private static final byte[] PING = SseBytes.ascii(MessageEvents.PING);

    private final ObjectMapper mapper;
    private final MessageEvents events;
    private final boolean stream;
    /** Whether the text block has started; handler calls never overlap, so no lock is needed. */
    private boolean textStarted;

    MessagesExchange(AsyncContext async, ObjectMapper mapper, MessageEvents events, boolean stream, Limits limits,
            Consumer<AsyncExchange> onEnd) throws IOException {
        super(async, limits, stream, onEnd);
        this.mapper = mapper;
        this.events = events;
        this.stream = stream;
        if (stream) {
            startEventStream();
            writer.write(events.start(), false);
        }
    }

    /** Core refused the request before it ran: a plain HTTP error, stream or not. */
    @Override
    void refuse(ErrorResponses.Failure failure) {
        writer.discardQueued();
        respond(AnthropicRequests.status(failure), failure.retryAfterSeconds(), "application/json",
                json(AnthropicRequests.error(failure)));
    }

    @Override
    public void onToken(String delta) {
        if (!stream || delta.isEmpty()) {
            return;
        }
        if (!textStarted) {
            textStarted = true;
            writer.write(MessageEvents.TEXT_BLOCK_START_BYTES, false);
        }
        writer.write(events.textDelta(delta), false);
    }

    @Override
    public void onComplete(ChatResponse r) {
        if (stream) {
            writer.write(events.end(r, textStarted), true);
            return;
        }
        String answeredBy = r.model() == null ? events.model() : r.model();
        Message message = new Message(events.id(), "message", "assistant", answeredBy,
                AnthropicRequests.content(r.text(), r.toolCalls(), mapper), AnthropicRequests.stopReason(r.finishReason()),
                null, AnthropicRequests.usage(r.usage()));
        respond(HttpServletResponse.SC_OK, null, "application/json", json(message));
    }

    @Override
    public void onError(ParleyException error) {
        fail(ErrorResponses.Failure.of(error));
    }

    @Override
    protected void fail(ErrorResponses.Failure failure) {
        if (stream) {
            writer.write(events.error(failure), true);
        } else {
            refuse(failure);
        }
    }

    @Override
    protected byte[] keepAlive() {
        // Anthropic keeps a quiet stream open with ping events; its SDKs skip them.
        return PING;
    }

    private byte[] json(Object value) {
        try {
            return mapper.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
