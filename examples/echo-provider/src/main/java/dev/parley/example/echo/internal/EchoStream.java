package dev.parley.example.echo.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.Usage;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * One streamed answer: sends {@code tokens} one at a time on the provider's scheduler, each after {@code delayMillis}.
 * Guarantees the handler contract: calls never overlap, and exactly one of onComplete/onError ends the stream.
 */
final class EchoStream implements StreamHandle {

    private static final System.Logger LOG = System.getLogger(EchoStream.class.getName());

    private final ChatStreamHandler handler;
    private final List<String> tokens;
    private final FinishReason finishReason;
    private final int promptTokens;
    private final String model;
    private final ScheduledExecutorService scheduler;
    private final long delayMillis;
    private final Consumer<EchoStream> onEnd;
    /** Serialises every call into the handler and guards the fields below. */
    private final ReentrantLock lock = new ReentrantLock();
    private final StringBuilder sent = new StringBuilder();
    private int next;
    private boolean done;
    private Future<?> pending;

    EchoStream(ChatStreamHandler handler, List<String> tokens, FinishReason finishReason, int promptTokens,
            String model, ScheduledExecutorService scheduler, long delayMillis, Consumer<EchoStream> onEnd) {
        this.handler = handler;
        this.tokens = List.copyOf(tokens);
        this.finishReason = finishReason;
        this.promptTokens = promptTokens;
        this.model = model;
        this.scheduler = scheduler;
        this.delayMillis = delayMillis;
        this.onEnd = onEnd;
    }

    void start() {
        scheduleNext();
    }

    private void scheduleNext() {
        lock.lock();
        try {
            if (done) {
                return;
            }
            pending = delayMillis == 0
                    ? scheduler.submit(this::step)
                    : scheduler.schedule(this::step, delayMillis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException stopped) {
            fail(new ParleyException(ErrorCode.UNAVAILABLE, "the echo provider has stopped"));
        } finally {
            lock.unlock();
        }
    }

    private void step() {
        lock.lock();
        try {
            if (done) {
                return;
            }
            if (next < tokens.size()) {
                String token = tokens.get(next++);
                sent.append(token);
                try {
                    handler.onToken(token);
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "event=handler_failed stage=onToken model=" + model, e);
                }
            }
            if (next == tokens.size() && !done) {
                done = true;
                complete();
            }
        } finally {
            lock.unlock();
        }
        if (isDone()) {
            onEnd.accept(this);
        } else {
            scheduleNext();
        }
    }

    private void complete() {
        try {
            handler.onComplete(new ChatResponse(sent.toString(), List.of(), finishReason,
                    new Usage(promptTokens, next), model));
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "event=handler_failed stage=onComplete model=" + model, e);
        }
    }

    private boolean isDone() {
        lock.lock();
        try {
            return done;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void cancel() {
        fail(new ParleyException(ErrorCode.CANCELLED, "the answer was cancelled"));
    }

    /** Ends the stream with {@code error}, unless it has already ended. */
    void fail(ParleyException error) {
        lock.lock();
        try {
            if (done) {
                return;
            }
            done = true;
            if (pending != null) {
                pending.cancel(false);
            }
            try {
                handler.onError(error);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "event=handler_failed stage=onError model=" + model, e);
            }
        } finally {
            lock.unlock();
        }
        onEnd.accept(this);
    }
}
