package dev.parley.provider.openai.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Splits a server-sent event stream into events at the byte level (WHATWG HTML, "event stream interpretation"):
 * lines end with LF, CRLF or CR, also when the CR and LF arrive in different buffers; {@code data:} lines with or
 * without the space are joined with LF; comments and unknown fields are ignored; a blank line dispatches.
 *
 * <p>Bytes are only copied into the event's data buffer (and into a line buffer when a line spans buffers): no
 * String per line, and the payload is handed over as bytes so a JSON parser can read it as it is. Not thread-safe;
 * one instance serves one response body, fed in order.
 */
final class SseEventSplitter {

    /** Receives each dispatched event; {@code data} is valid only during the call. */
    interface Listener {
        /** {@code event} is the {@code event:} field, or null for the default type ("message"). */
        void onEvent(String event, byte[] data, int length) throws IOException;
    }

    /** An upstream that never ends a line or an event must not take all the heap. */
    static final int MAX_EVENT_BYTES = 8 * 1024 * 1024;

    private final Listener listener;
    private byte[] data = new byte[1024];
    private int dataLength;
    private boolean hasData;
    private String event;
    /** The start of a line whose end has not arrived yet. */
    private byte[] partial = new byte[256];
    private int partialLength;
    /** The last line ended with CR: an LF at the start of the next bytes belongs to it. */
    private boolean skipLf;
    private boolean firstLine = true;
    private byte[] scratch;

    SseEventSplitter(Listener listener) {
        this.listener = listener;
    }

    /** Consumes all remaining bytes of {@code buffer}. */
    void feed(ByteBuffer buffer) throws IOException {
        if (buffer.hasArray()) {
            int start = buffer.arrayOffset() + buffer.position();
            int length = buffer.remaining();
            buffer.position(buffer.limit());
            feed(buffer.array(), start, length);
            return;
        }
        if (scratch == null) {
            scratch = new byte[8192];
        }
        while (buffer.hasRemaining()) {
            int n = Math.min(scratch.length, buffer.remaining());
            buffer.get(scratch, 0, n);
            feed(scratch, 0, n);
        }
    }

    void feed(byte[] bytes, int offset, int length) throws IOException {
        int end = offset + length;
        int i = offset;
        while (i < end) {
            if (skipLf) {
                skipLf = false;
                if (bytes[i] == '\n') {
                    i++;
                    continue;
                }
            }
            int lineStart = i;
            while (i < end && bytes[i] != '\n' && bytes[i] != '\r') {
                i++;
            }
            if (i == end) {
                appendPartial(bytes, lineStart, end - lineStart);
                return;
            }
            int lineEnd = i;
            skipLf = bytes[i] == '\r';
            i++;
            if (partialLength > 0) {
                appendPartial(bytes, lineStart, lineEnd - lineStart);
                int n = partialLength;
                partialLength = 0;
                line(partial, 0, n);
            } else {
                line(bytes, lineStart, lineEnd - lineStart);
            }
        }
    }

    /** The body ended: a last line without its line end and an event without its blank line still count. */
    void end() throws IOException {
        if (partialLength > 0) {
            int n = partialLength;
            partialLength = 0;
            line(partial, 0, n);
        }
        dispatch();
    }

    private void line(byte[] b, int off, int len) throws IOException {
        if (firstLine) {
            firstLine = false;
            // One leading UTF-8 byte order mark is not part of the first field name.
            if (len >= 3 && b[off] == (byte) 0xEF && b[off + 1] == (byte) 0xBB && b[off + 2] == (byte) 0xBF) {
                off += 3;
                len -= 3;
            }
        }
        if (len == 0) {
            dispatch();
            return;
        }
        if (b[off] == ':') {
            return; // a comment, often a keep-alive
        }
        int colon = -1;
        for (int j = off; j < off + len; j++) {
            if (b[j] == ':') {
                colon = j;
                break;
            }
        }
        int nameLength = colon < 0 ? len : colon - off;
        int valueStart = colon < 0 ? off + len : colon + 1;
        if (valueStart < off + len && b[valueStart] == ' ') {
            valueStart++;
        }
        int valueLength = off + len - valueStart;
        if (is(b, off, nameLength, DATA)) {
            if (hasData) {
                appendData(NEWLINE, 0, 1);
            }
            appendData(b, valueStart, valueLength);
            hasData = true;
        } else if (is(b, off, nameLength, EVENT)) {
            event = new String(b, valueStart, valueLength, StandardCharsets.UTF_8);
        }
        // id: and retry: matter to browsers reconnecting, not to one request's answer.
    }

    private void dispatch() throws IOException {
        boolean any = hasData;
        String type = event;
        int n = dataLength;
        hasData = false;
        dataLength = 0;
        event = null;
        if (any) {
            listener.onEvent(type, data, n);
        }
    }

    private static final byte[] DATA = {'d', 'a', 't', 'a'};
    private static final byte[] EVENT = {'e', 'v', 'e', 'n', 't'};
    private static final byte[] NEWLINE = {'\n'};

    private static boolean is(byte[] b, int off, int len, byte[] name) {
        if (len != name.length) {
            return false;
        }
        for (int k = 0; k < len; k++) {
            if (b[off + k] != name[k]) {
                return false;
            }
        }
        return true;
    }

    private void appendData(byte[] b, int off, int len) {
        data = ensure(data, dataLength + len);
        System.arraycopy(b, off, data, dataLength, len);
        dataLength += len;
    }

    private void appendPartial(byte[] b, int off, int len) {
        partial = ensure(partial, partialLength + len);
        System.arraycopy(b, off, partial, partialLength, len);
        partialLength += len;
    }

    private static byte[] ensure(byte[] buffer, int needed) {
        if (needed <= buffer.length) {
            return buffer;
        }
        if (needed > MAX_EVENT_BYTES) {
            throw new UpstreamProtocolException("a server-sent event longer than " + MAX_EVENT_BYTES + " bytes");
        }
        return java.util.Arrays.copyOf(buffer, Math.min(MAX_EVENT_BYTES, Math.max(needed, buffer.length * 2)));
    }
}
