package dev.parley.provider.openai.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.Flow;

/**
 * Reads the body of one streamed chat completion as the JDK client delivers it, non-blocking, on the client's
 * executor: bytes → {@link SseEventSplitter} → {@link ChunkParser} → {@link ParleyStream}. Reports the end exactly
 * once; a body that ends without {@code data: [DONE]} is an error. Cancelling cancels the subscription, which closes
 * the connection (HTTP/1.1) or resets the stream (HTTP/2, where the connection carries other streams too).
 */
final class CompletionStreamSubscriber implements Flow.Subscriber<List<ByteBuffer>>, SseEventSplitter.Listener {

    private static final byte[] DONE = {'[', 'D', 'O', 'N', 'E', ']'};

    private final ParleyStream stream;
    private final ChunkParser chunks;
    private final SseEventSplitter events = new SseEventSplitter(this);
    private volatile Flow.Subscription subscription;
    private volatile boolean cancelled;
    private volatile boolean ended;
    private boolean sawDone; // only touched by the delivering thread

    CompletionStreamSubscriber(ParleyStream stream, ChunkParser chunks) {
        this.stream = stream;
        this.chunks = chunks;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        subscription = s;
        if (cancelled || ended) {
            s.cancel();
        } else {
            // The handler only enqueues (see ChatStreamHandler), so there is nothing to hold back for.
            s.request(Long.MAX_VALUE);
        }
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
        if (cancelled || ended) {
            return;
        }
        stream.activity();
        try {
            for (int i = 0, n = buffers.size(); i < n && !ended && !cancelled; i++) {
                events.feed(buffers.get(i));
            }
        } catch (IOException | RuntimeException e) {
            fail(e);
        }
    }

    @Override
    public void onEvent(String event, byte[] data, int length) throws IOException {
        if (sawDone || ended || cancelled) {
            return;
        }
        if (isBlank(data, length)) {
            return; // "data:" alone, as some servers send for keep-alive
        }
        if (isDone(data, length)) {
            sawDone = true;
            return;
        }
        String delta;
        try {
            delta = chunks.accept(data, 0, length);
        } catch (IOException e) {
            if ("error".equals(event)) {
                // "event: error" with a plain-text payload.
                throw new UpstreamStreamError(new String(data, 0, length, java.nio.charset.StandardCharsets.UTF_8),
                        null, null);
            }
            throw e;
        }
        if (chunks.progressed()) {
            stream.progress(delta);
        }
    }

    private static boolean isBlank(byte[] data, int length) {
        for (int i = 0; i < length; i++) {
            byte b = data[i];
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                return false;
            }
        }
        return true;
    }

    private static boolean isDone(byte[] data, int length) {
        int start = 0;
        int end = length;
        while (start < end && data[start] == ' ') {
            start++;
        }
        while (end > start && (data[end - 1] == ' ')) {
            end--;
        }
        if (end - start != DONE.length) {
            return false;
        }
        for (int i = 0; i < DONE.length; i++) {
            if (data[start + i] != DONE[i]) {
                return false;
            }
        }
        return true;
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
        try {
            events.end();
        } catch (IOException | RuntimeException e) {
            fail(e);
            return;
        } finally {
            chunks.close();
        }
        if (!sawDone) {
            fail(new StreamEndedEarlyException());
            return;
        }
        ended = true;
        stream.complete(chunks);
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
        stream.onError(t instanceof IOException && !(t instanceof com.fasterxml.jackson.core.JacksonException)
                ? new UpstreamTransportException(t) : t);
    }

    /** Stops reading and closes the connection; reports nothing (the stream has already ended). */
    void cancel() {
        cancelled = true;
        Flow.Subscription s = subscription;
        if (s != null) {
            s.cancel();
        }
    }
}
