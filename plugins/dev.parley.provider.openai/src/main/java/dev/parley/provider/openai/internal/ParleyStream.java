package dev.parley.provider.openai.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.Usage;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntSupplier;
import java.util.function.ToIntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One answer, streamed or read from one non-streamed body: hands what the wire client reads to Parley's handler,
 * guarantees exactly one terminal call and no overlapping calls, and watches the first-token and between-chunk (or
 * between-read) deadlines.
 */
final class ParleyStream implements StreamHandle, TransportObserver {

    private static final Logger LOG = LoggerFactory.getLogger(ParleyStream.class);

    private final ChatStreamHandler handler;
    private final String model;
    private final long firstTokenTimeoutNanos;
    private final long readTimeoutNanos;
    private final ScheduledExecutorService scheduler;
    private final ToIntFunction<String> completionEstimate;
    private final IntSupplier promptEstimate;
    private final long startNanos = System.nanoTime();
    /** Serialises calls into the handler: they must never overlap. */
    private final ReentrantLock lock = new ReentrantLock();
    private volatile long lastActivityNanos = startNanos;
    private volatile boolean firstTokenSeen;
    private volatile Runnable abort;
    private volatile ScheduledFuture<?> watchdog;
    private boolean done; // guarded by lock
    /** Ended because upstream finished the answer (not by a cancel, timeout or failure); guarded by lock. */
    private boolean answered;
    private volatile Runnable onTerminated = () -> { };

    ParleyStream(ChatStreamHandler handler, String model, Duration firstTokenTimeout, Duration readTimeout,
            ScheduledExecutorService scheduler, IntSupplier promptEstimate, ToIntFunction<String> completionEstimate) {
        this.handler = handler;
        this.model = model;
        this.firstTokenTimeoutNanos = firstTokenTimeout.toNanos();
        this.readTimeoutNanos = readTimeout.toNanos();
        this.scheduler = scheduler;
        this.promptEstimate = promptEstimate;
        this.completionEstimate = completionEstimate;
    }

    void startWatchdog() {
        schedule(Math.min(firstTokenTimeoutNanos, readTimeoutNanos));
    }

    private void schedule(long delayNanos) {
        try {
            watchdog = scheduler.schedule(this::checkDeadlines, Math.max(delayNanos, 1), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException shuttingDown) {
            fail(new ParleyException(ErrorCode.UNAVAILABLE, "the provider is shutting down"));
        }
    }

    private void checkDeadlines() {
        if (isDone()) {
            return;
        }
        long now = System.nanoTime();
        if (!firstTokenSeen) {
            long left = startNanos + firstTokenTimeoutNanos - now;
            if (left <= 0) {
                fail(new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "the model server sent no answer within "
                        + Duration.ofNanos(firstTokenTimeoutNanos).toSeconds() + " s"));
            } else {
                // Look again within one read timeout: once the first token is in, silence longer than that must
                // be caught on time even when the first-token wait is longer.
                schedule(Math.min(left, readTimeoutNanos));
            }
            return;
        }
        long left = lastActivityNanos + readTimeoutNanos - now;
        if (left <= 0) {
            fail(new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "the model server went silent for "
                    + Duration.ofNanos(readTimeoutNanos).toSeconds() + " s in the middle of an answer"));
        } else {
            schedule(left);
        }
    }

    // ---- transport --------------------------------------------------------------------------------------------

    /**
     * {@inheritDoc} When the answer already ended before the transport got here, the exchange is aborted only if it
     * ended on Parley's side (cancelled, timed out, failed): an answer upstream finished on the selector thread before
     * this thread came back from sending has handed its connection back to the client's pool, and aborting would
     * close it under the next request that takes it.
     */
    @Override
    public void attach(Runnable abort) {
        this.abort = abort;
        boolean abandoned;
        lock.lock();
        try {
            abandoned = done && !answered;
        } finally {
            lock.unlock();
        }
        if (abandoned) {
            abort.run();
        }
    }

    @Override
    public void activity() {
        lastActivityNanos = System.nanoTime();
    }

    // ---- what the wire client read ----------------------------------------------------------------------------

    /**
     * A chunk carried content ({@code delta}, else null) or pieces of tool calls ({@code toolCallDeltas}, read
     * before this returns).
     */
    void progress(String delta, List<ToolCallDelta> toolCallDeltas) {
        firstTokenSeen = true;
        boolean text = delta != null && !delta.isEmpty();
        if (!text && toolCallDeltas.isEmpty()) {
            return;
        }
        lock.lock();
        try {
            if (done) {
                return;
            }
            if (text) {
                try {
                    handler.onToken(delta);
                } catch (RuntimeException e) {
                    LOG.warn("event=handler_failed stage=onToken model={}", model, e);
                }
            }
            for (ToolCallDelta d : toolCallDeltas) {
                try {
                    handler.onToolCallDelta(d);
                } catch (RuntimeException e) {
                    LOG.warn("event=handler_failed stage=onToolCallDelta model={}", model, e);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Upstream has started its response (HTTP 2xx headers are in): from now on only silence longer than the read
     * timeout counts, not the first-token deadline. Used for a non-streamed answer, whose first bytes are the answer.
     */
    void responseStarted() {
        firstTokenSeen = true;
        activity();
    }

    /** The stream ended with {@code [DONE]}, or the non-streamed body was read: answer with what {@code chunks} hold. */
    void complete(UpstreamAnswer chunks) {
        ChatResponse response;
        try {
            String text = chunks.text();
            List<ToolCall> calls = chunks.toolCalls();
            Usage usage = chunks.usage();
            if (usage == null) {
                // Only when upstream reported no usage: estimating costs a tokenizer pass.
                usage = new Usage(promptEstimate.getAsInt(), completionEstimate.applyAsInt(text));
            }
            String answeredBy = chunks.model() == null ? model : chunks.model();
            response = new ChatResponse(text, calls, chunks.finishReason(!calls.isEmpty()), usage, answeredBy);
        } catch (RuntimeException e) {
            fail(UpstreamErrors.map(e, model));
            return;
        }
        List<ToolCallDelta> closing = chunks.closingToolCallDeltas();
        if (!terminate()) {
            return;
        }
        answered = true; // under the terminal lock terminate() holds
        try {
            for (ToolCallDelta d : closing) {
                try {
                    handler.onToolCallDelta(d);
                } catch (RuntimeException e) {
                    LOG.warn("event=handler_failed stage=onToolCallDelta model={}", model, e);
                }
            }
            handler.onComplete(response);
        } catch (RuntimeException e) {
            LOG.warn("event=handler_failed stage=onComplete model={}", model, e);
        } finally {
            releaseTerminalLock();
        }
    }

    /** The call failed: transport, HTTP status, or protocol. */
    void onError(Throwable error) {
        fail(UpstreamErrors.map(error, model));
    }

    // ---- Parley handle ----------------------------------------------------------------------------------------

    @Override
    public void cancel() {
        fail(new ParleyException(ErrorCode.CANCELLED, "the answer was cancelled"));
    }

    void fail(ParleyException error) {
        if (!terminate()) {
            return;
        }
        try {
            Runnable a = abort;
            if (a != null) {
                a.run();
            }
            if (error.code() != ErrorCode.CANCELLED) {
                LOG.info("event=stream_failed model={} code={} message=\"{}\"", model, error.code().slug(),
                        error.getMessage());
            }
            handler.onError(error);
        } catch (RuntimeException e) {
            LOG.warn("event=handler_failed stage=onError model={}", model, e);
        } finally {
            releaseTerminalLock();
        }
    }

    /**
     * Marks the stream done; true for the one caller that gets to make the terminal call. That caller then holds
     * the lock until {@link #releaseTerminalLock()}, so the terminal call cannot overlap an onToken.
     */
    private boolean terminate() {
        lock.lock();
        if (done) {
            lock.unlock();
            return false;
        }
        done = true;
        ScheduledFuture<?> w = watchdog;
        if (w != null) {
            w.cancel(false);
        }
        return true;
    }

    /** Runs once, after the terminal call into the handler has returned. */
    void whenTerminated(Runnable action) {
        this.onTerminated = action;
    }

    private void releaseTerminalLock() {
        lock.unlock();
        onTerminated.run();
    }

    private boolean isDone() {
        lock.lock();
        try {
            return done;
        } finally {
            lock.unlock();
        }
    }
}
