package dev.parley.core.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.identity.Principal;
import dev.parley.api.error.ParleyException;
import dev.parley.api.limits.Reservation;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCallDelta;

/**
 * Sits between a provider stream and whoever follows it, and makes the provider's promises true even when a
 * plugin breaks them: exactly one terminal callback, nothing after it, no overlapping calls. It also ends the
 * stream itself when the follower goes away or the caller cancels and the provider does not answer. Tool call pieces
 * reach the follower in a shape it can rely on: calls start in index order, each with one piece that names it, and
 * later pieces carry only arguments. A piece for a call that never started ends the answer as a protocol error.
 *
 * <p>All {@code deliver*} hooks run under one lock, so they never overlap. The upstream handle is only ever
 * cancelled outside that lock: a provider may block in {@code cancel()} on its own I/O thread, which may be
 * waiting for this lock.
 */
abstract class GuardedStream implements ChatStreamHandler, StreamHandle {
    private static final Logger LOG = LoggerFactory.getLogger(GuardedStream.class);

    static final String CLIENT_GONE = "client disconnected";

    private final Object lock = new Object();
    private boolean ended;
    /** Core ended the stream on its own; the provider must be told to stop. */
    private boolean abandoned;
    private StreamHandle upstream;
    private boolean upstreamCancelled;
    /** How many tool calls have started (their first piece went to the follower); guarded by the lock. */
    private int toolCallsStarted;
    /** This stream's provider call in traces and metrics; set once, before {@link #start}. */
    private ChatTelemetry.ModelCall call;

    /** Who asked for it: its usage is recorded under this caller's tenant and subject; set before {@link #start}. */
    private volatile Principal caller;
    /** What it took from the caller's budgets; settled (or released, if it never started) when it ends. */
    private volatile Reservation reservation = Reservation.NONE;
    /** The prompt tokens the reservation counted: what a stream cut before the provider's usage arrived used. */
    private volatile int promptEstimate;
    /** Whether {@link #start} ran: the request went to the router and upstream. */
    private volatile boolean started;
    /** Characters of answer and tool call pieces forwarded; guarded by the lock. */
    private long forwardedChars;

    final void reservation(Reservation r, int promptTokens) {
        this.reservation = r == null ? Reservation.NONE : r;
        this.promptEstimate = promptTokens;
    }

    final Reservation reservation() {
        return reservation;
    }

    final boolean started() {
        return started;
    }

    /**
     * What a stream that ended without the provider's usage used, as far as core can tell: the prompt it sent (once
     * any answer arrived; a provider that failed before answering bills nothing) and about four characters per token
     * of what arrived.
     */
    final dev.parley.api.llm.Usage usedSoFar() {
        long chars;
        synchronized (lock) {
            chars = forwardedChars;
        }
        if (chars == 0) {
            return new dev.parley.api.llm.Usage(0, 0);
        }
        return new dev.parley.api.llm.Usage(promptEstimate, (int) Math.min(Integer.MAX_VALUE, (chars + 3) / 4));
    }

    final void caller(Principal who) {
        this.caller = who;
    }

    final Principal caller() {
        return caller;
    }

    /** Observes this stream: its provider call's span, chunks and end. Call once, before anything can end it. */
    final void observe(ChatTelemetry.ModelCall call) {
        this.call = call;
    }

    final ChatTelemetry.ModelCall call() {
        return call;
    }

    /**
     * Starts the provider call through the router: {@link ChatModelProvider#stream} or, when the caller wants the
     * answer {@code whole}, {@link ChatModelProvider#complete} (one upstream call where the provider can), with the
     * router's retries, fallbacks and timeouts in between. Either way the same guarantees hold.
     */
    final void start(RoutedCall routed, boolean whole) {
        started = true;
        StreamHandle handle;
        // The provider-call span is current while the provider builds its request: it carries the trace upstream.
        try (var scope = call.makeCurrent()) {
            handle = routed.start(this, whole);
        } catch (ParleyException e) {
            onError(e);
            return;
        } catch (RuntimeException e) {
            LOG.warn("routed call failed to start model={}", routed.first().model().id(), e);
            onError(new ParleyException(ErrorCode.UPSTREAM_FAILURE, "the answer failed to start", e));
            return;
        }
        boolean cancelNow;
        synchronized (lock) {
            upstream = handle;
            cancelNow = abandoned;
        }
        if (cancelNow) {
            cancelUpstream();
        }
    }

    @Override
    public final void onToken(String delta) {
        if (delta == null || delta.isEmpty()) {
            return;
        }
        boolean gone = false;
        synchronized (lock) {
            if (ended) {
                return;
            }
            forwardedChars += delta.length();
            try {
                deliverToken(delta);
                call.chunk();
            } catch (RuntimeException e) {
                LOG.debug("follower failed on token, abandoning stream", e);
                gone = true;
                end(new ParleyException(ErrorCode.CANCELLED, CLIENT_GONE), true);
            }
        }
        if (gone) {
            afterEnd();
            cancelUpstream();
        }
    }

    @Override
    public final void onToolCallDelta(ToolCallDelta delta) {
        if (delta == null) {
            return;
        }
        boolean gone = false;
        ParleyException broken = null;
        synchronized (lock) {
            if (ended) {
                return;
            }
            ToolCallDelta piece = null;
            if (delta.index() < toolCallsStarted) {
                // More of a started call; a repeated name or id is tolerated and left out.
                piece = delta.argumentsDelta().isEmpty() ? null
                        : delta.starts() || delta.id() != null
                                ? new ToolCallDelta(delta.index(), null, null, delta.argumentsDelta()) : delta;
            } else if (delta.index() == toolCallsStarted && delta.starts()) {
                toolCallsStarted++;
                piece = delta;
            } else {
                broken = new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "provider sent a piece of tool call "
                        + delta.index() + (delta.starts() ? " before call " + toolCallsStarted + " started"
                                : " that never started (no tool name)"));
                end(broken, true);
            }
            if (piece != null && broken == null) {
                forwardedChars += piece.argumentsDelta().length() + (piece.name() == null ? 0 : piece.name().length());
                try {
                    deliverToolCallDelta(piece);
                    call.chunk();
                } catch (RuntimeException e) {
                    LOG.debug("follower failed on tool call piece, abandoning stream", e);
                    gone = true;
                    end(new ParleyException(ErrorCode.CANCELLED, CLIENT_GONE), true);
                }
            }
        }
        if (broken != null) {
            LOG.warn("provider broke the tool call order reason=\"{}\"", broken.getMessage());
        }
        if (gone || broken != null) {
            afterEnd();
            cancelUpstream();
        }
    }

    @Override
    public final void onAnsweringModel(String providerId, String model) {
        if (model == null) {
            return;
        }
        synchronized (lock) {
            if (ended) {
                return;
            }
            try {
                deliverAnsweringModel(providerId, model);
            } catch (RuntimeException e) {
                // The follower learns of its end from the next token or the terminal callback.
                LOG.debug("follower failed on answering model", e);
            }
        }
    }

    @Override
    public final void onComplete(ChatResponse response) {
        synchronized (lock) {
            if (ended) {
                return;
            }
            ended = true;
            ChatResponse r = response == null ? new ChatResponse("", null, null, null, null) : response;
            call.answered(r, answerText(r));
            deliverComplete(r);
        }
        afterEnd();
    }

    @Override
    public final void onError(ParleyException error) {
        abort(error == null ? new ParleyException(ErrorCode.UPSTREAM_FAILURE, "provider failed without a reason")
                : error, false);
    }

    /** Cancels upstream and, should the provider not call back synchronously, ends the stream as CANCELLED. */
    @Override
    public final void cancel() {
        synchronized (lock) {
            if (ended) {
                return;
            }
            abandoned = true;
        }
        cancelUpstream();
        abort(new ParleyException(ErrorCode.CANCELLED, "cancelled"), true);
    }

    /** Ends the stream with {@code reason} unless it already ended; {@code stopUpstream} also cancels the provider. */
    final void abort(ParleyException reason, boolean stopUpstream) {
        synchronized (lock) {
            if (ended) {
                return;
            }
            end(reason, stopUpstream);
        }
        afterEnd();
        if (stopUpstream) {
            cancelUpstream();
        }
    }

    /** Caller holds the lock and has checked {@code !ended}. */
    private void end(ParleyException reason, boolean stopUpstream) {
        ended = true;
        abandoned |= stopUpstream;
        call.failed(reason);
        deliverError(reason);
    }

    private void cancelUpstream() {
        StreamHandle handle;
        synchronized (lock) {
            if (upstream == null || upstreamCancelled) {
                return; // start() cancels it once the provider hands it over
            }
            upstreamCancelled = true;
            handle = upstream;
        }
        try {
            handle.cancel();
        } catch (RuntimeException e) {
            LOG.warn("provider cancel failed", e);
        }
    }

    /** The whole answer text at its end, for traces with content capture on; the provider's text by default. */
    protected String answerText(ChatResponse response) {
        return response.text();
    }

    /** A token for the follower; throwing means the follower is gone. */
    protected abstract void deliverToken(String delta);

    /** A tool call piece for the follower, in the order described above; throwing means the follower is gone. */
    protected abstract void deliverToolCallDelta(ToolCallDelta delta);

    /** The target answering, before its first piece; the default tells nobody. */
    protected void deliverAnsweringModel(String providerId, String model) {
    }

    /** The one successful end. Must not throw. */
    protected abstract void deliverComplete(ChatResponse response);

    /** The one failed end. Must not throw. */
    protected abstract void deliverError(ParleyException error);

    /** Runs once, after the terminal callback, outside the lock (bookkeeping: in-flight set, events). */
    protected abstract void afterEnd();
}
