package dev.parley.web.rest.internal;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.nio.charset.StandardCharsets;

/** Byte-level pieces of the token frames both async front ends send (ADR 7). */
final class SseBytes {
    /** The comment that keeps a quiet event stream open. */
    static final byte[] KEEP_ALIVE = ascii(": keep-alive\n\n");

    private SseBytes() {
    }

    /** {@code prefix}, the JSON-escaped UTF-8 of {@code text}, {@code suffix}: one array, no object tree. */
    static byte[] framed(byte[] prefix, String text, byte[] suffix) {
        byte[] escaped = JsonStringEncoder.getInstance().quoteAsUTF8(text);
        byte[] frame = new byte[prefix.length + escaped.length + suffix.length];
        System.arraycopy(prefix, 0, frame, 0, prefix.length);
        System.arraycopy(escaped, 0, frame, prefix.length, escaped.length);
        System.arraycopy(suffix, 0, frame, prefix.length + escaped.length, suffix.length);
        return frame;
    }

    /** {@code head} (e.g. an event's {@code id:} line), then {@link #framed(byte[], String, byte[])}. */
    static byte[] framed(byte[] head, byte[] prefix, String text, byte[] suffix) {
        byte[] escaped = JsonStringEncoder.getInstance().quoteAsUTF8(text);
        byte[] frame = new byte[head.length + prefix.length + escaped.length + suffix.length];
        System.arraycopy(head, 0, frame, 0, head.length);
        System.arraycopy(prefix, 0, frame, head.length, prefix.length);
        System.arraycopy(escaped, 0, frame, head.length + prefix.length, escaped.length);
        System.arraycopy(suffix, 0, frame, head.length + prefix.length + escaped.length, suffix.length);
        return frame;
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
