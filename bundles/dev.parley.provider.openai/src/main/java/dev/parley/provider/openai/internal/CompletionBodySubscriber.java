package dev.parley.provider.openai.internal;

import com.fasterxml.jackson.core.JsonFactory;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Flow;

/**
 * Reads the body of one non-streamed chat completion as the JDK client delivers it, on the client's executor: the
 * bytes are collected, bounded by {@code maxBytes} (a larger body fails the answer and closes the connection as soon
 * as it shows, from its Content-Length or from what arrived), then read once by {@link CompletionBody}. Reports the
 * end exactly once. Cancelling cancels the subscription, which closes the connection (HTTP/1.1) or resets the
 * stream (HTTP/2).
 */
final class CompletionBodySubscriber implements Flow.Subscriber<List<ByteBuffer>> {

    private final ParleyStream stream;
    private final JsonFactory json;
    private final int maxBytes;
    private volatile Flow.Subscription subscription;
    private volatile boolean cancelled;
    private volatile boolean ended;
    // Only touched by the delivering thread.
    private byte[] body;
    private int length;

    CompletionBodySubscriber(ParleyStream stream, JsonFactory json, int maxBytes) {
        this.stream = stream;
        this.json = json;
        this.maxBytes = maxBytes;
    }

    /** Sizes the buffer for the body's Content-Length ({@code -1}: unknown); call before the body arrives. */
    void expect(long declaredLength) {
        body = new byte[(int) Math.min(maxBytes, declaredLength > 0 ? declaredLength : 8192)];
    }

    boolean cancelled() {
        return cancelled;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        subscription = s;
        if (cancelled || ended) {
            s.cancel();
        } else {
            s.request(Long.MAX_VALUE);
        }
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
        if (cancelled || ended) {
            return;
        }
        stream.activity();
        if (body == null) {
            expect(-1);
        }
        for (ByteBuffer b : buffers) {
            int n = b.remaining();
            if (n > maxBytes - length) {
                fail(tooLarge(maxBytes));
                return;
            }
            if (length + n > body.length) {
                body = Arrays.copyOf(body, (int) Math.min(maxBytes, Math.max((long) body.length * 2, length + n)));
            }
            b.get(body, length, n);
            length += n;
        }
    }

    @Override
    public void onError(Throwable t) {
        fail(t);
    }

    @Override
    public void onComplete() {
        if (cancelled || ended) {
            return;
        }
        UpstreamAnswer answer;
        try {
            answer = CompletionBody.parse(json, body == null ? new byte[0] : body, length);
        } catch (RuntimeException e) {
            fail(e);
            return;
        }
        ended = true;
        body = null;
        stream.complete(answer);
    }

    void fail(Throwable t) {
        if (cancelled || ended) {
            return;
        }
        ended = true;
        Flow.Subscription s = subscription;
        if (s != null) {
            s.cancel();
        }
        // Below HTTP (reset, closed mid-body): kept apart from what upstream said. A more specific cause inside
        // (refused, timed out) still wins when it is mapped.
        stream.onError(t instanceof java.io.IOException ? new UpstreamTransportException(t) : t);
    }

    /** Stops reading and closes the connection; reports nothing (the answer has already ended). */
    void cancel() {
        cancelled = true;
        Flow.Subscription s = subscription;
        if (s != null) {
            s.cancel();
        }
    }

    static UpstreamProtocolException tooLarge(int maxBytes) {
        return new UpstreamProtocolException("an answer larger than " + maxBytes + " bytes (maxAnswerBytes)");
    }
}
