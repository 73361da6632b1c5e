package dev.parley.provider.openai.internal;

import dev.langchain4j.model.chat.response.CompleteToolCall;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.PartialToolCall;
import dev.langchain4j.model.chat.response.PartialToolCallContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.Usage;
import java.time.Duration;
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
 * One streamed answer: adapts langchain4j's callbacks to Parley's handler, guarantees exactly one terminal call
 * and no overlapping calls, and watches the first-token and between-chunk deadlines.
 */
final class ParleyStream implements StreamHandle, StreamingChatResponseHandler, TransportObserver {

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
        schedule(firstTokenTimeoutNanos);
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
                schedule(left);
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

    @Override
    public void attach(Runnable abort) {
        this.abort = abort;
        if (isDone()) {
            abort.run();
        }
    }

    @Override
    public void activity() {
        lastActivityNanos = System.nanoTime();
    }

    // ---- langchain4j callbacks --------------------------------------------------------------------------------

    @Override
    public void onPartialResponse(PartialResponse partialResponse, PartialResponseContext context) {
        String text = partialResponse.text();
        if (text == null || text.isEmpty()) {
            return;
        }
        firstTokenSeen = true;
        lock.lock();
        try {
            if (!done) {
                handler.onToken(text);
            }
        } catch (RuntimeException e) {
            LOG.warn("event=handler_failed stage=onToken model={}", model, e);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void onPartialToolCall(PartialToolCall partialToolCall, PartialToolCallContext context) {
        firstTokenSeen = true;
    }

    @Override
    public void onCompleteToolCall(CompleteToolCall completeToolCall) {
        firstTokenSeen = true;
    }

    @Override
    public void onCompleteResponse(dev.langchain4j.model.chat.response.ChatResponse completeResponse) {
        ChatResponse response;
        try {
            String text = completeResponse.aiMessage() == null ? "" : completeResponse.aiMessage().text();
            // Only when upstream reported no usage: estimating costs a tokenizer pass.
            Usage fallback = completeResponse.tokenUsage() != null && completeResponse.tokenUsage().inputTokenCount() != null
                    ? null : new Usage(promptEstimate.getAsInt(),
                    completionEstimate.applyAsInt(text == null ? "" : text));
            response = Translation.response(completeResponse, model, fallback);
        } catch (RuntimeException e) {
            fail(new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "the model server's answer could not be read", e));
            return;
        }
        if (!terminate()) {
            return;
        }
        try {
            handler.onComplete(response);
        } catch (RuntimeException e) {
            LOG.warn("event=handler_failed stage=onComplete model={}", model, e);
        } finally {
            releaseTerminalLock();
        }
    }

    @Override
    public void onError(Throwable error) {
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
