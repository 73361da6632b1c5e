package dev.parley.provider.openai.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Reads the body of one streamed chat completion as the JDK client delivers it, non-blocking: bytes →
 * {@link SseEventSplitter} → {@link ChunkParser} → {@link ParleyStream}; a body that ends without
 * {@code data: [DONE]} is an error.
 */
final class CompletionStreamSubscriber extends UpstreamBodySubscriber implements SseEventSplitter.Listener {

    private static final byte[] DONE = {'[', 'D', 'O', 'N', 'E', ']'};

    private final ChunkParser chunks;
    private final SseEventSplitter events = new SseEventSplitter(this);
    private boolean sawDone; // only touched by the delivering thread

    CompletionStreamSubscriber(ParleyStream stream, ChunkParser chunks) {
        super(stream);
        this.chunks = chunks;
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
        if (done()) {
            return;
        }
        stream.activity();
        try {
            for (int i = 0, n = buffers.size(); i < n && !done(); i++) {
                events.feed(buffers.get(i));
            }
        } catch (IOException | RuntimeException e) {
            fail(e);
        }
    }

    @Override
    public void onEvent(String event, byte[] data, int length) throws IOException {
        if (sawDone || done()) {
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
            stream.progress(delta, chunks.toolCallDeltas());
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
    public void onComplete() {
        if (done()) {
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
        complete(chunks);
    }
}
