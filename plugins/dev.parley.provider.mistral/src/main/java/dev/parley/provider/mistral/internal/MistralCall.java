package dev.parley.provider.mistral.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCallDelta;
import java.util.concurrent.ScheduledFuture;
import java.util.function.Consumer;

/**
 * One running answer: its upstream {@link Exchange} and the handler, which gets tokens in order and exactly one
 * terminal callback. Callbacks never overlap (they are delivered under this object's lock, and the handler returns
 * quickly by contract); anything after the end (a late token, a second error) is dropped.
 */
final class MistralCall implements StreamHandle {

    private final ChatStreamHandler handler;
    private final Exchange exchange;
    private final Consumer<MistralCall> onEnd;
    private boolean ended;
    /** Tool calls handed on so far: the next one's {@link ToolCallDelta#index()}. */
    private int toolCalls;
    private volatile ScheduledFuture<?> timeout;

    MistralCall(ChatStreamHandler handler, Exchange exchange, Consumer<MistralCall> onEnd) {
        this.handler = handler;
        this.exchange = exchange;
        this.onEnd = onEnd;
    }

    Exchange exchange() {
        return exchange;
    }

    void timeout(ScheduledFuture<?> timeout) {
        this.timeout = timeout;
        synchronized (this) {
            if (ended) {
                timeout.cancel(false);
            }
        }
    }

    synchronized void token(String delta) {
        if (!ended && delta != null && !delta.isEmpty()) {
            handler.onToken(delta);
        }
    }

    /** A whole tool call, as Mistral streams them (never in pieces): one piece with its id, name and arguments. */
    synchronized void toolCall(String id, String name, String arguments) {
        if (!ended) {
            handler.onToolCallDelta(new ToolCallDelta(toolCalls++, id, name, arguments));
        }
    }

    void complete(ChatResponse response) {
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
            handler.onComplete(response);
        }
        finished();
    }

    void fail(ParleyException error) {
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
            handler.onError(error);
        }
        finished();
    }

    /** Stops the upstream exchange and ends the answer with {@code reason}, unless it has already ended. */
    void abort(ParleyException reason) {
        exchange.abort(reason);
        fail(reason);
    }

    @Override
    public void cancel() {
        abort(new ParleyException(ErrorCode.CANCELLED, "the answer was cancelled"));
    }

    synchronized boolean ended() {
        return ended;
    }

    private void finished() {
        ScheduledFuture<?> t = timeout;
        if (t != null) {
            t.cancel(false);
        }
        onEnd.accept(this);
    }
}
