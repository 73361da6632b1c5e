package dev.parley.testsupport.bedrock;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Writes messages of the AWS event stream encoding ({@code application/vnd.amazon.eventstream}), as documented in
 * "Event stream encoding" (Amazon Transcribe developer guide, "Setting up a streaming transcription"; the same
 * framing Bedrock's ConverseStream and InvokeModelWithResponseStream use):
 *
 * <pre>
 * total byte length (4, big-endian) | headers byte length (4) | prelude CRC32 (4, over the first 8 bytes)
 * headers | payload | message CRC32 (4, over everything before it)
 * </pre>
 *
 * Each header is: name byte length (1) | name (UTF-8) | value type (1) | value; this encoder writes string values
 * (type 7: value byte length (2) | value (UTF-8)), the only type Bedrock's events use.
 */
public final class EventStreamEncoder {

    private static final int STRING_TYPE = 7;

    private EventStreamEncoder() {
    }

    /** An event message: {@code :event-type}, {@code :content-type} application/json, {@code :message-type} event. */
    public static byte[] event(String eventType, String jsonPayload) {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put(":event-type", eventType);
        headers.put(":content-type", "application/json");
        headers.put(":message-type", "event");
        return message(headers, jsonPayload.getBytes(StandardCharsets.UTF_8));
    }

    /** A modeled exception inside the stream: {@code :message-type} exception, {@code :exception-type}. */
    public static byte[] exception(String exceptionType, String message) {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put(":exception-type", exceptionType);
        headers.put(":content-type", "application/json");
        headers.put(":message-type", "exception");
        return message(headers, ("{\"message\":" + FakeBedrockServer.quote(message) + "}")
                .getBytes(StandardCharsets.UTF_8));
    }

    /** One message with string headers, in the given order. */
    public static byte[] message(Map<String, String> headers, byte[] payload) {
        ByteArrayOutputStream h = new ByteArrayOutputStream();
        for (Map.Entry<String, String> e : headers.entrySet()) {
            byte[] name = e.getKey().getBytes(StandardCharsets.UTF_8);
            byte[] value = e.getValue().getBytes(StandardCharsets.UTF_8);
            h.write(name.length);
            h.writeBytes(name);
            h.write(STRING_TYPE);
            h.write((value.length >>> 8) & 0xff);
            h.write(value.length & 0xff);
            h.writeBytes(value);
        }
        byte[] headerBytes = h.toByteArray();
        int total = 4 + 4 + 4 + headerBytes.length + payload.length + 4;
        ByteBuffer buf = ByteBuffer.allocate(total);
        buf.putInt(total);
        buf.putInt(headerBytes.length);
        buf.putInt((int) crc(buf.array(), 0, 8));
        buf.put(headerBytes);
        buf.put(payload);
        buf.putInt((int) crc(buf.array(), 0, total - 4));
        return buf.array();
    }

    /** A copy of {@code message} whose message CRC is wrong: what a corrupted frame looks like to a decoder. */
    public static byte[] corrupt(byte[] message) {
        byte[] copy = message.clone();
        copy[copy.length - 1] ^= 0x5a;
        return copy;
    }

    static long crc(byte[] bytes, int offset, int length) {
        CRC32 crc = new CRC32();
        crc.update(bytes, offset, length);
        return crc.getValue();
    }
}
