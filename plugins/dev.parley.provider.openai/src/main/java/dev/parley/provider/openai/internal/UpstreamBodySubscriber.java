package dev.parley.provider.openai.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.Flow;

/**
 * What the two readers of a 2xx chat-completions body share ({@link CompletionStreamSubscriber} for server-sent
 * events, {@link CompletionBodySubscriber} for one JSON answer): they run on the JDK client's selector thread, take
 * everything it offers (the handler only encodes and queues), report the end to the {@link ParleyStream} exactly
 * once, and cancelling cancels the subscription, which closes the connection (HTTP/1.1) or resets the stream
 * (HTTP/2, where the connection carries other streams too).
 */
abstract class UpstreamBodySubscriber implements Flow.Subscriber<List<ByteBuffer>> {

    protected final ParleyStream stream;
    private volatile Flow.Subscription subscription;
    private volatile boolean cancelled;
    private volatile boolean ended;

    UpstreamBodySubscriber(ParleyStream stream) {
        this.stream = stream;
    }

    /** True once the answer has ended or been cancelled: nothing more is to be read or reported. */
    final boolean done() {
        return cancelled || ended;
    }

    final boolean cancelled() {
        return cancelled;
    }

    @Override
    public final void onSubscribe(Flow.Subscription s) {
        subscription = s;
        if (done()) {
            s.cancel();
        } else {
            s.request(Long.MAX_VALUE);
        }
    }

    @Override
    public final void onError(Throwable t) {
        fail(t);
    }

    /** The answer is complete: hands it to the stream, unless it already ended. */
    final void complete(UpstreamAnswer answer) {
        if (done()) {
            return;
        }
        ended = true;
        stream.complete(answer);
    }

    /** Ends the answer with {@code t} (once) and stops reading. */
    final void fail(Throwable t) {
        if (done()) {
            return;
        }
        ended = true;
        cancelSubscription();
        // Below HTTP (reset, closed mid-body): kept apart from what upstream said. A more specific cause inside
        // (refused, timed out) still wins when it is mapped.
        stream.onError(t instanceof IOException && !(t instanceof com.fasterxml.jackson.core.JacksonException)
                ? new UpstreamTransportException(t) : t);
    }

    /** Stops reading and closes the connection; reports nothing (the answer has already ended). */
    final void cancel() {
        cancelled = true;
        cancelSubscription();
    }

    private void cancelSubscription() {
        Flow.Subscription s = subscription;
        if (s != null) {
            s.cancel();
        }
    }
}
