package dev.parley.provider.openai.internal;

import com.fasterxml.jackson.core.JsonFactory;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * Reads the body of one non-streamed chat completion as the JDK client delivers it: the bytes are collected, bounded
 * by {@code maxBytes} (a larger body fails the answer and closes the connection as soon as it shows, from its
 * Content-Length or from what arrived), then read once by {@link CompletionBody}.
 */
final class CompletionBodySubscriber extends UpstreamBodySubscriber {

    private final JsonFactory json;
    private final int maxBytes;
    // Only touched by the delivering thread.
    private byte[] body;
    private int length;

    CompletionBodySubscriber(ParleyStream stream, JsonFactory json, int maxBytes) {
        super(stream);
        this.json = json;
        this.maxBytes = maxBytes;
    }

    /** Sizes the buffer for the body's Content-Length ({@code -1}: unknown); call before the body arrives. */
    void expect(long declaredLength) {
        body = new byte[(int) Math.min(maxBytes, declaredLength > 0 ? declaredLength : 8192)];
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
        if (done()) {
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
    public void onComplete() {
        if (done()) {
            return;
        }
        UpstreamAnswer answer;
        try {
            answer = CompletionBody.parse(json, body == null ? new byte[0] : body, length);
        } catch (RuntimeException e) {
            fail(e);
            return;
        }
        body = null;
        complete(answer);
    }

    static UpstreamProtocolException tooLarge(int maxBytes) {
        return new UpstreamProtocolException("an answer larger than " + maxBytes + " bytes (maxAnswerBytes)");
    }
}
