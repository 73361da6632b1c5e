package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.llm.ChatResponse;
import dev.parley.web.rest.internal.AnthropicBodies.Message;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.function.Consumer;

/**
 * One {@code POST /v1/messages} in servlet async mode, as {@link CompletionExchange} is for chat completions: the
 * provider's callback thread encodes each event ({@link MessageEvents}) and hands it to the {@link AsyncWriter}.
 */
final class MessagesExchange extends ModelExchange {
    private static final byte[] PING = SseBytes.ascii(MessageEvents.PING);

    private final MessageEvents events;
    /** Whether the text block has started; handler calls never overlap, so no lock is needed. */
    private boolean textStarted;

    MessagesExchange(AsyncContext async, ObjectMapper mapper, MessageEvents events, boolean stream, Limits limits,
            Consumer<AsyncExchange> onEnd) throws IOException {
        super(async, mapper, stream, events.start(), limits, onEnd);
        this.events = events;
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
    protected byte[] keepAlive() {
        // Anthropic keeps a quiet stream open with ping events; its SDKs skip them.
        return PING;
    }

    @Override
    protected byte[] errorEvent(ErrorResponses.Failure failure) {
        return events.error(failure);
    }

    @Override
    protected Object errorBody(ErrorResponses.Failure failure) {
        return AnthropicRequests.error(failure);
    }

    @Override
    protected int errorStatus(ErrorResponses.Failure failure) {
        return AnthropicRequests.status(failure);
    }
}
