package dev.parley.provider.ollama.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCallDelta;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpHeaders;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * One answer in flight: the Parley handler it reports to, and the upstream exchange it can stop. Guarantees the
 * handler contract whatever langchain4j and the transport report, and in whatever order: tokens in order, then exactly
 * one {@code onComplete} or {@code onError}; handler calls never overlap (they are made under this object's lock).
 */
final class UpstreamCall implements StreamHandle {

    /**
     * The call whose upstream exchange the current thread is starting. langchain4j starts the HTTP exchange
     * synchronously inside the provider's call into it, so the transport finds its call here. One per class, like
     * any ThreadLocal key; it holds a call only for the duration of {@link #run}.
     */
    private static final ThreadLocal<UpstreamCall> CURRENT = new ThreadLocal<>();

    private final ChatStreamHandler handler;
    private final String model;
    private final Consumer<UpstreamCall> onEnd;
    private final StreamedToolCalls toolCalls = new StreamedToolCalls(); // guarded by this
    private boolean ended;
    private volatile boolean endedFlag;
    private volatile Future<?> exchange;
    private volatile InputStream body;
    private volatile int status;
    private volatile HttpHeaders headers;
    private volatile Future<?> timer;

    UpstreamCall(ChatStreamHandler handler, String model, Consumer<UpstreamCall> onEnd) {
        this.handler = handler;
        this.model = model;
        this.onEnd = onEnd;
    }

    static UpstreamCall current() {
        return CURRENT.get();
    }

    /** Runs {@code start} with this call as the current one, so the exchange it starts belongs to this call. */
    void run(Runnable start) {
        UpstreamCall previous = CURRENT.get();
        CURRENT.set(this);
        try {
            start.run();
        } finally {
            if (previous == null) {
                CURRENT.remove();
            } else {
                CURRENT.set(previous);
            }
        }
    }

    String model() {
        return model;
    }

    boolean ended() {
        return endedFlag;
    }

    void timer(Future<?> timer) {
        this.timer = timer;
        if (endedFlag) {
            timer.cancel(false);
        }
    }

    // ---- what the transport reports --------------------------------------------------------------------------

    void exchangeStarted(Future<?> exchange) {
        this.exchange = exchange;
        if (endedFlag) {
            exchange.cancel(true);
        }
    }

    void responseArrived(int status, HttpHeaders headers) {
        this.status = status;
        this.headers = headers;
    }

    /** The status of the response, or 0 before it arrived. */
    int status() {
        return status;
    }

    /** The headers of the response, or null before it arrived. */
    HttpHeaders headers() {
        return headers;
    }

    /** The response body is being read; returns false (and closes it) if the call already ended. */
    boolean bodyOpened(InputStream in) {
        this.body = in;
        if (endedFlag) {
            closeQuietly(in);
            return false;
        }
        return true;
    }

    // ---- what the handler gets ----------------------------------------------------------------------------------

    synchronized void token(String delta) {
        if (!ended && delta != null && !delta.isEmpty()) {
            handler.onToken(delta);
        }
    }

    /**
     * A line of the streamed answer arrived: hands on the tool calls it carries, each whole as one piece (before the
     * line's text, if a line carries both).
     */
    synchronized void lineArrived(String line) {
        if (!ended) {
            for (ToolCallDelta piece : toolCalls.read(line)) {
                handler.onToolCallDelta(piece);
            }
        }
    }

    void complete(ChatResponse response) {
        succeed(() -> handler.onComplete(response));
    }

    /** Ends the call successfully with {@code deliver} (run under the lock) unless it already ended. */
    boolean succeed(Runnable deliver) {
        synchronized (this) {
            if (ended) {
                return false;
            }
            end();
            deliver.run();
        }
        finished();
        return true;
    }

    /** Ends the call with {@code error} (unless it already ended) and stops the upstream exchange. */
    void fail(ParleyException error) {
        synchronized (this) {
            if (ended) {
                return;
            }
            end();
            handler.onError(error);
        }
        abort();
        finished();
    }

    @Override
    public void cancel() {
        fail(new ParleyException(ErrorCode.CANCELLED, "the answer was cancelled"));
    }

    private void end() {
        ended = true;
        endedFlag = true;
    }

    private void finished() {
        Future<?> t = timer;
        if (t != null) {
            t.cancel(false);
        }
        onEnd.accept(this);
    }

    /** Stops the exchange: before the response, by cancelling it; while reading the body, by closing it. */
    private void abort() {
        Future<?> ex = exchange;
        if (ex != null) {
            ex.cancel(true);
        }
        InputStream in = body;
        if (in != null) {
            closeQuietly(in);
        }
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException | RuntimeException ignored) {
            // closing is best effort: the call has ended either way
        }
    }
}
