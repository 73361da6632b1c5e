package dev.parley.web.ws.internal;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Scope;

import dev.parley.api.chat.Chat;
import dev.parley.api.chat.ChatService;
import dev.parley.api.chat.NewConversation;
import dev.parley.api.chat.SendMessage;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.chat.TurnListener;
import dev.parley.api.chat.TurnResult;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Principal;
import dev.parley.api.limits.RequestRateLimits;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCallDelta;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The protocol state of one chat WebSocket: the turns it has in flight and the frames waiting to go out.
 * Independent of the WebSocket API: the container adapter feeds it text frames and the close, and gives it a
 * non-blocking {@link OutboundQueue.Transport} plus a way to close the socket.
 *
 * <p>Text frames arrive one at a time from the container; turn callbacks arrive from provider threads at any
 * time. Nothing here blocks on the client: callbacks only enqueue.
 */
final class ChatSocket {
    private static final Logger LOG = LoggerFactory.getLogger(ChatSocket.class);

    static final int CLOSE_TOO_SLOW = 1008;
    static final String TOO_SLOW_REASON = "client too slow: outbound buffer full";
    static final int CLOSE_GOING_AWAY = 1001;

    /** Closes the underlying socket; must not block. */
    interface Closer {
        void close(int code, String reason);
    }

    private final String socketId;
    private final Principal principal;
    private final ChatService chat;
    private final SocketLimits limits;
    private final FrameParser parser;
    private final ServerFrames frames;
    private final Closer closer;
    private final Executor housekeeping;
    private final OutboundQueue out;
    private final Map<String, Turn> turns = new ConcurrentHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final BooleanSupplier draining;
    private final Runnable turnEnded;
    private final Supplier<WsTelemetry> telemetry;
    private final Supplier<RequestRateLimits> requestLimits;

    /**
     * @param housekeeping runs the cancellations and the close after an overflow, off the provider thread that
     *                     overflowed the queue (cancelling from inside a turn callback would re-enter it)
     */
    ChatSocket(String socketId, Principal principal, ChatService chat, SocketLimits limits, FrameParser parser,
            ServerFrames frames, OutboundQueue.Transport transport, Closer closer, Executor housekeeping, BooleanSupplier draining,
            Runnable turnEnded, Supplier<WsTelemetry> telemetry, Supplier<RequestRateLimits> requestLimits) {
        this.socketId = socketId;
        this.requestLimits = requestLimits;
        this.principal = principal;
        this.telemetry = telemetry;
        this.draining = draining;
        this.turnEnded = turnEnded;
        this.chat = chat;
        this.limits = limits;
        this.parser = parser;
        this.frames = frames;
        this.closer = closer;
        this.housekeeping = housekeeping;
        this.out = new OutboundQueue(transport, limits.outboundMaxFrames(), limits.outboundMaxBytes(),
                this::overflowed, this::sendFailed);
    }

    String id() {
        return socketId;
    }

    /** Who opened the socket: verified at the handshake, kept for the core calls its frames make. */
    Principal principal() {
        return principal;
    }

    int inFlight() {
        return turns.size();
    }

    /** Turns still running, or frames still waiting to reach the client. */
    boolean busy() {
        return !closed.get() && (!turns.isEmpty() || out.framesHeld() > 0);
    }

    /** One client text frame. */
    void onText(String text) {
        if (closed.get()) {
            return;
        }
        ClientFrame frame = parser.parse(text);
        if (frame instanceof ClientFrame.Send send) {
            start(send);
        } else if (frame instanceof ClientFrame.Resume resume) {
            resume(resume);
        } else if (frame instanceof ClientFrame.Cancel cancel) {
            cancel(cancel.id());
        } else if (frame instanceof ClientFrame.Ping ping) {
            out.offer(frames.pong(ping.id()));
        } else if (frame instanceof ClientFrame.Invalid invalid) {
            LOG.debug("ws frame rejected socket={} reason={}", socketId, invalid.message());
            out.offer(frames.error(invalid.id(), ErrorCode.INVALID_REQUEST, invalid.message()));
        }
    }

    /**
     * The socket is gone (closed by either side, or failed): cancel what is still running, except answers in the
     * stream log, which go on so that the client can resume them on a new socket.
     */
    void onClosed() {
        if (closed.compareAndSet(false, true)) {
            out.close();
            if (chat.as(principal).resumable()) {
                List<Turn> following = turns.values().stream().filter(t -> t.resumed).toList();
                following.forEach(Turn::cancel);
            } else {
                cancelAll("socket closed");
            }
        }
    }

    /** Closes the socket from the server side, e.g. when the service goes away. */
    void shutdown(int code, String reason) {
        if (closed.compareAndSet(false, true)) {
            out.close();
            cancelAll(reason);
            closer.close(code, reason);
        }
    }

    /** Follows a streamed answer from the stream log after the client's last frame, under a new request id. */
    private void resume(ClientFrame.Resume resume) {
        var turn = new Turn(resume.id(), telemetry.get().startSend(resume.id(), null, null), true, resume.after());
        if (!register(turn)) {
            return;
        }
        try {
            turn.attach(chat.as(principal).resume(resume.conversationId(), resume.answerId(), resume.after(), turn));
        } catch (ParleyException e) {
            turn.fail(e);
        } catch (RuntimeException e) {
            LOG.warn("ws resume failed socket={} request={}", socketId, resume.id(), e);
            turn.fail(new ParleyException(ErrorCode.INTERNAL, "internal error", e));
        }
        if (closed.get()) {
            turn.cancel();
        }
    }

    /** Counts a new request on this socket, or refuses it (id in flight, too many in flight). */
    private boolean register(Turn turn) {
        synchronized (turns) {
            // A turn that has sent its last frame no longer counts, even before it leaves the map: the client may
            // have read that frame and sent its next request already.
            Turn existing = turns.get(turn.id);
            if (existing != null && !existing.finished.get()) {
                turn.refused(new ParleyException(ErrorCode.INVALID_REQUEST,
                        "a request with id '" + turn.id + "' is already in flight"));
                return false;
            }
            if (turns.values().stream().filter(t -> !t.finished.get()).count() >= limits.maxInFlight()) {
                turn.refused(new ParleyException(ErrorCode.INVALID_REQUEST,
                        "too many requests in flight on this socket (at most " + limits.maxInFlight() + ")"));
                return false;
            }
            turns.put(turn.id, turn);
            return true;
        }
    }

    private void start(ClientFrame.Send send) {
        if (draining.getAsBoolean()) {
            out.offer(frames.error(send.id(), ErrorCode.UNAVAILABLE, "server shutting down: no new turns"));
            return;
        }
        var turn = new Turn(send.id(), telemetry.get().startSend(send.id(), send.traceparent(), send.tracestate()),
                false, 0);
        // Each chat message is a request against the caller's request limits, as an HTTP request is at the edge;
        // over the limit the socket stays open and the message gets an error frame with the wait.
        RequestRateLimits rl = requestLimits.get();
        if (rl != null) {
            try {
                rl.acquire(principal);
            } catch (ParleyException e) {
                turn.refused(e);
                return;
            }
        }
        if (!register(turn)) {
            return;
        }
        // Core's turn span and the logs of this call join the frame's span.
        try (Scope scope = turn.span.makeCurrent()) {
            putLogContext(send.id(), turn.span);
            String conversationId = send.conversationId();
            Chat caller = chat.as(principal);
            if (conversationId == null) {
                conversationId = caller.createConversation(new NewConversation(null, send.model(), null)).id();
            }
            StreamHandle handle = caller.send(conversationId, new SendMessage(send.content(), send.model(), null), turn);
            turn.attach(handle);
        } catch (ParleyException e) {
            turn.fail(e);
        } catch (RuntimeException e) {
            LOG.warn("ws send failed socket={} request={}", socketId, send.id(), e);
            turn.fail(new ParleyException(ErrorCode.INTERNAL, "internal error", e));
        } finally {
            MDC.remove("request_id");
            MDC.remove("trace_id");
            MDC.remove("span_id");
        }
        if (closed.get()) {
            // The socket closed while the turn was being started: cancelAll may have missed it.
            turn.cancel();
        }
    }

    /** The logging context of a send frame while its turn starts (the JSON log format writes each as a field). */
    private static void putLogContext(String requestId, Span span) {
        MDC.put("request_id", requestId);
        if (span.getSpanContext().isValid()) {
            MDC.put("trace_id", span.getSpanContext().getTraceId());
            MDC.put("span_id", span.getSpanContext().getSpanId());
        }
    }

    private void cancel(String id) {
        Turn turn = turns.get(id);
        if (turn == null) {
            out.offer(frames.error(id, ErrorCode.INVALID_REQUEST, "no request with id '" + id + "' is in flight"));
            return;
        }
        turn.cancel();
    }

    private void cancelAll(String why) {
        List<Turn> running = List.copyOf(turns.values());
        if (!running.isEmpty()) {
            LOG.debug("ws cancelling turns socket={} count={} reason={}", socketId, running.size(), why);
        }
        for (Turn turn : running) {
            turn.cancel();
        }
    }

    private void overflowed() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        LOG.info("ws client too slow, closing socket={} turns={}", socketId, turns.size());
        Runnable closeAndCancel = () -> {
            closer.close(CLOSE_TOO_SLOW, TOO_SLOW_REASON);
            cancelAll(TOO_SLOW_REASON);
        };
        try {
            housekeeping.execute(closeAndCancel);
        } catch (RejectedExecutionException e) {
            // Shutting down: do it here rather than leave turns running for a socket nobody reads.
            closeAndCancel.run();
        }
    }

    private void sendFailed(Throwable error) {
        LOG.debug("ws send failed, socket gone socket={} error={}", socketId, error.toString());
        onClosed();
    }

    /** One running send request; its listener callbacks come from the provider's thread. */
    private final class Turn implements TurnListener {
        private final String id;
        private final Span span;
        /** Follows an answer from the stream log ({@code resume}) rather than running one. */
        private final boolean resumed;
        private final AtomicBoolean finished = new AtomicBoolean();
        private StreamHandle handle;
        private boolean cancelRequested;
        /** The seq of the last frame of the answer's stream sent; listener calls never overlap. */
        private long seq;

        Turn(String id, Span span, boolean resumed, long after) {
            this.id = id;
            this.span = span;
            this.resumed = resumed;
            this.seq = after;
        }

        /** Never started: the error frame goes out and the span ends, the turn never counted. */
        void refused(ParleyException e) {
            out.offer(frames.error(id, e));
            WsTelemetry.failed(span, e);
            span.end();
        }

        void attach(StreamHandle h) {
            boolean cancelNow;
            synchronized (this) {
                handle = h;
                cancelNow = cancelRequested;
            }
            if (cancelNow && h != null) {
                h.cancel();
            }
        }

        void cancel() {
            StreamHandle h;
            synchronized (this) {
                cancelRequested = true;
                h = handle;
            }
            if (h != null && !finished.get()) {
                h.cancel();
            }
        }

        /** Refused when it was started: an error frame outside the answer's stream (no seq). */
        void fail(ParleyException e) {
            end(frames.error(id, e), e);
        }

        @Override
        public void onAccepted(StoredMessage userMessage, String answerMessageId, String model) {
            out.offer(frames.accepted(id, ++seq, userMessage, answerMessageId, model));
        }

        @Override
        public void onToken(String delta) {
            if (!finished.get()) {
                out.offer(frames.token(id, ++seq, delta));
            }
        }

        @Override
        public void onToolCallDelta(ToolCallDelta delta) {
            if (!finished.get()) {
                out.offer(frames.toolCall(id, ++seq, delta));
            }
        }

        @Override
        public void onAnsweringModel(String providerId, String model) {
            if (!finished.get()) {
                out.offer(frames.answering(id, ++seq, providerId, model));
            }
        }

        @Override
        public void onComplete(TurnResult result) {
            if (finished.compareAndSet(false, true)) {
                // Queue the last frame before the turn stops counting: a shutdown drain waits while a socket has
                // turns or queued frames, and in between it would see neither and close over the "done".
                out.offer(frames.done(id, ++seq, result));
                ended();
            }
        }

        @Override
        public void onError(ParleyException error) {
            end(frames.error(id, ++seq, error), error);
        }

        @Override
        public void onInterrupted(StoredMessage partial, ParleyException reason) {
            end(frames.interrupted(id, ++seq, partial, reason), reason);
        }

        private void end(String lastFrame, ParleyException error) {
            if (finished.compareAndSet(false, true)) {
                out.offer(lastFrame);
                WsTelemetry.failed(span, error);
                ended();
            }
        }

        private void ended() {
            turns.remove(id, this);
            turnEnded.run();
            span.end();
        }
    }
}
