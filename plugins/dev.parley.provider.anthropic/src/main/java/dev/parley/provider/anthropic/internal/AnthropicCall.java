package dev.parley.provider.anthropic.internal;

import com.anthropic.core.RequestOptions;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.services.blocking.MessageService;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCallDelta;
import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.Future;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One answer: runs the SDK call on a worker thread of the provider, hands tokens and the end to Parley's handler,
 * and guarantees exactly one terminal call that never overlaps a token. Cancelling (or the answer timeout) closes the
 * SDK's stream response and interrupts the worker, which stops the upstream call.
 */
final class AnthropicCall implements StreamHandle, Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(AnthropicCall.class);

    private final MessageService messages;
    private final MessageCreateParams params;
    private final RequestOptions options;
    private final boolean streamed;
    private final ChatStreamHandler handler;
    private final String model;
    private final AnswerBuilder answer;
    private final ReentrantLock lock = new ReentrantLock();
    private boolean done; // guarded by lock
    private volatile StreamResponse<RawMessageStreamEvent> response;
    private volatile Future<?> worker;
    private volatile Thread workerThread;
    private volatile Future<?> timer;
    private volatile Runnable onTerminated = () -> { };

    AnthropicCall(MessageService messages, MessageCreateParams params, Duration timeout, boolean streamed,
            ChatStreamHandler handler, int maxAnswerChars) {
        this.messages = messages;
        this.params = params;
        // An explicit timeout also keeps the SDK from refusing a long non-streamed answer on its own.
        this.options = RequestOptions.builder().timeout(timeout).build();
        this.streamed = streamed;
        this.handler = handler;
        this.model = params.model().asString();
        this.answer = new AnswerBuilder(model, maxAnswerChars);
    }

    void started(Future<?> worker, Future<?> timer) {
        this.worker = worker;
        this.timer = timer;
        if (isDone()) {
            abort();
            timer.cancel(false);
        }
    }

    void whenTerminated(Runnable action) {
        this.onTerminated = action;
    }

    @Override
    public void run() {
        workerThread = Thread.currentThread();
        try {
            if (isDone()) {
                return;
            }
            if (streamed) {
                stream();
            } else {
                Message m = messages.create(params, options);
                answer.accept(m);
                finish();
            }
        } catch (Throwable t) {
            if (!isDone()) {
                fail(AnthropicErrors.map(t, model));
            }
        } finally {
            workerThread = null;
            // ThreadPoolExecutor clears a pending interrupt before the next task.
        }
    }

    private void stream() {
        try (StreamResponse<RawMessageStreamEvent> events = messages.createStreaming(params, options)) {
            response = events;
            if (isDone()) {
                return;
            }
            try (Stream<RawMessageStreamEvent> s = events.stream()) {
                Iterator<RawMessageStreamEvent> it = s.iterator();
                while (!answer.stopped() && it.hasNext()) {
                    RawMessageStreamEvent event = it.next();
                    if (isDone()) {
                        return;
                    }
                    answer.accept(event, this::token, this::toolCallDelta);
                }
            }
            if (!answer.stopped()) {
                throw new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                        "the connection to Anthropic ended before the answer was complete (no message_stop)");
            }
            finish();
        }
    }

    private void finish() {
        if ("refusal".equals(answer.stopReason())) {
            fail(new ParleyException(ErrorCode.CONTENT_FILTERED,
                    "the model declined to answer (Anthropic stop reason 'refusal')"));
            return;
        }
        ChatResponse r = answer.response();
        lock.lock();
        try {
            if (done) {
                return;
            }
            done = true;
            try {
                handler.onComplete(r);
            } catch (RuntimeException e) {
                LOG.warn("event=handler_failed stage=onComplete model={}", model, e);
            }
        } finally {
            lock.unlock();
        }
        ended();
    }

    private void token(String delta) {
        if (delta.isEmpty()) {
            return;
        }
        lock.lock();
        try {
            if (!done) {
                handler.onToken(delta);
            }
        } catch (RuntimeException e) {
            LOG.warn("event=handler_failed stage=onToken model={}", model, e);
        } finally {
            lock.unlock();
        }
    }

    private void toolCallDelta(ToolCallDelta delta) {
        lock.lock();
        try {
            if (!done) {
                handler.onToolCallDelta(delta);
            }
        } catch (RuntimeException e) {
            LOG.warn("event=handler_failed stage=onToolCallDelta model={}", model, e);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void cancel() {
        fail(new ParleyException(ErrorCode.CANCELLED, "the answer was cancelled"));
    }

    void fail(ParleyException error) {
        lock.lock();
        try {
            if (done) {
                return;
            }
            done = true;
            if (error.code() != ErrorCode.CANCELLED) {
                LOG.info("event=stream_failed provider=anthropic model={} code={} message=\"{}\"", model,
                        error.code().slug(), error.getMessage());
                // The cause's class only: an SDK exception's message quotes the vendor's whole error body.
                LOG.debug("event=stream_failed_cause model={} cause={}", model,
                        error.getCause() == null ? "-" : error.getCause().getClass().getName());
            }
            try {
                handler.onError(error);
            } catch (RuntimeException e) {
                LOG.warn("event=handler_failed stage=onError model={}", model, e);
            }
        } finally {
            lock.unlock();
        }
        // Outside the lock: closing may wait for a read in flight on the worker to return.
        abort();
        ended();
    }

    /** Stops the upstream call: interrupts a worker still waiting, closes the response being read. */
    private void abort() {
        Future<?> w = worker;
        if (w != null && workerThread != Thread.currentThread()) {
            w.cancel(true);
        }
        StreamResponse<RawMessageStreamEvent> r = response;
        if (r != null) {
            try {
                r.close();
            } catch (RuntimeException e) {
                LOG.debug("event=close_failed model={}", model, e);
            }
        }
    }

    private void ended() {
        Future<?> t = timer;
        if (t != null) {
            t.cancel(false);
        }
        onTerminated.run();
    }

    boolean isDone() {
        lock.lock();
        try {
            return done;
        } finally {
            lock.unlock();
        }
    }
}
