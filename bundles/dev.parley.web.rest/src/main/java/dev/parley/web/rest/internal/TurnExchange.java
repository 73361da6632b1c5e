package dev.parley.web.rest.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.chat.TurnListener;
import dev.parley.api.chat.TurnResult;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.web.rest.internal.RestBodies.AcceptedEvent;
import dev.parley.web.rest.internal.RestBodies.DoneEvent;
import dev.parley.web.rest.internal.RestBodies.MessageBody;
import dev.parley.web.rest.internal.RestBodies.TurnAnswer;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * One native turn ({@code POST /api/v1/conversations/{id}/messages}) in servlet async mode: core's listener for
 * the turn, rendered as Server-Sent Events ({@code accepted}, {@code answering}, {@code token} and {@code tool_call}…,
 * {@code done} or {@code error}) or, without streaming, as one JSON answer at the end. No thread waits for the model or the client.
 * Each event carries its number in the answer's stream ({@code id:}, from 1), which a client that lost the
 * stream sends back as {@code Last-Event-ID} to resume it ({@code GET .../messages/{answerId}/stream}, served by the
 * same class from event {@code after + 1}; a stream whose producing node is gone ends with {@code interrupted}).
 */
final class TurnExchange extends AsyncExchange implements TurnListener {
    private static final byte[] TOKEN_PREFIX = "event: token\ndata: {\"delta\":\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TOKEN_SUFFIX = "\"}\n\n".getBytes(StandardCharsets.US_ASCII);

    private final ObjectMapper mapper;
    private final boolean stream;
    /** The answer is logged: it goes on when the client leaves, and the client may resume it. */
    private final boolean outlivesClient;
    private volatile MessageBody userMessage;
    /** The event stream's headers are set (at acceptance, or at once for a resumed stream). */
    private volatile boolean streaming;
    /** The number of the last event written; calls never overlap. */
    private long eventId;

    TurnExchange(AsyncContext async, ObjectMapper mapper, boolean stream, Limits limits, Consumer<AsyncExchange> onEnd)
            throws IOException {
        this(async, mapper, stream, false, limits, onEnd);
    }

    TurnExchange(AsyncContext async, ObjectMapper mapper, boolean stream, boolean outlivesClient, Limits limits,
            Consumer<AsyncExchange> onEnd) throws IOException {
        super(async, limits, stream, onEnd);
        this.mapper = mapper;
        this.stream = stream;
        this.outlivesClient = stream && outlivesClient;
    }

    /** A resumed stream: the event stream starts now, with the event after {@code after}. */
    static TurnExchange resumed(AsyncContext async, ObjectMapper mapper, long after, Limits limits,
            Consumer<AsyncExchange> onEnd) throws IOException {
        TurnExchange exchange = new TurnExchange(async, mapper, true, false, limits, onEnd);
        exchange.eventId = after;
        exchange.startStreaming();
        // The status and headers go out at once, with a comment: the next event may be seconds away (a producer
        // gone is found out after its heartbeat timeout), and a client or proxy must not take the silence for a
        // dead server. A refusal before the writer opens (unknown answer) discards it and answers with a problem.
        exchange.writer.write(SseBytes.KEEP_ALIVE, false);
        return exchange;
    }

    @Override
    protected boolean answerOutlivesClient() {
        return outlivesClient;
    }

    private void startStreaming() {
        if (!streaming) {
            streaming = true;
            startEventStream();
        }
    }

    /** The {@code id:} line of the next event. */
    private byte[] nextId() {
        return SseBytes.ascii("id: " + (++eventId) + "\n");
    }

    /** Core refused the turn before anything was stored: a plain problem response, stream or not. */
    @Override
    void refuse(ErrorResponses.Failure failure) {
        writer.discardQueued();
        respond(failure, failure.status(), ErrorResponses.PROBLEM_JSON, json(failure.problem()));
    }

    @Override
    public void onAccepted(StoredMessage user, String answerMessageId, String model) {
        MessageBody body = MessageBody.of(user);
        userMessage = body;
        if (stream) {
            startStreaming();
            writer.write(event("accepted", new AcceptedEvent(body, answerMessageId, model)), false);
        }
    }

    @Override
    public void onToken(String delta) {
        if (!stream) {
            return;
        }
        writer.write(SseBytes.framed(nextId(), TOKEN_PREFIX, delta, TOKEN_SUFFIX), false);
    }

    @Override
    public void onToolCallDelta(ToolCallDelta d) {
        if (stream) {
            writer.write(event("tool_call", new RestBodies.ToolCallEvent(d.index(), d.id(), d.name(),
                    d.argumentsDelta())), false);
        }
    }

    @Override
    public void onAnsweringModel(String providerId, String model) {
        if (stream) {
            writer.write(event("answering", new RestBodies.AnsweringEvent(providerId, model)), false);
        }
    }

    @Override
    public void onComplete(TurnResult result) {
        String finish = RestBodies.finishReason(result.finishReason());
        MessageBody answer = MessageBody.of(result.answer());
        RestBodies.RouteBody route = RestBodies.RouteBody.of(result.route());
        if (stream) {
            writer.write(event("done", new DoneEvent(answer, finish, route)), true);
        } else {
            respond(HttpServletResponse.SC_OK, null, "application/json",
                    json(new TurnAnswer(userMessage, answer, finish, route)));
        }
    }

    @Override
    public void onError(ParleyException error) {
        fail(ErrorResponses.Failure.of(error));
    }

    /** A resumed stream whose producer is gone: the stored partial answer, and why. */
    @Override
    public void onInterrupted(StoredMessage partial, ParleyException reason) {
        writer.write(event("interrupted", new RestBodies.InterruptedEvent(MessageBody.of(partial),
                reason.code().slug(), reason.getMessage())), true);
    }

    @Override
    protected void fail(ErrorResponses.Failure failure) {
        if (stream && streaming) {
            writer.write(event("error", failure.problem()), true);
        } else {
            refuse(failure);
        }
    }

    @Override
    protected byte[] keepAlive() {
        return SseBytes.KEEP_ALIVE;
    }

    private byte[] event(String name, Object data) {
        return ("id: " + (++eventId) + "\nevent: " + name + "\ndata: " + new String(json(data), StandardCharsets.UTF_8)
                + "\n\n").getBytes(StandardCharsets.UTF_8);
    }

    private byte[] json(Object value) {
        try {
            return mapper.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
