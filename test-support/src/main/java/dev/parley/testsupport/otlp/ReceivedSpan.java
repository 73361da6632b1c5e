package dev.parley.testsupport.otlp;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One span as {@link OtlpReceiver} decoded it from an OTLP export request: plain Java values, no protobuf types.
 *
 * <p>Attribute values (of the span, its events and links, and its resource) are {@link String}, {@link Long},
 * {@link Double}, {@link Boolean}, an unmodifiable {@link List} of such values for an array, an unmodifiable
 * {@link Map} for a key-value list, a read-only {@link java.nio.ByteBuffer} for bytes, or null for an empty value.
 * Maps keep the order the attributes had on the wire.
 *
 * @param traceId            32 lower-case hex digits
 * @param spanId             16 lower-case hex digits
 * @param parentSpanId       16 lower-case hex digits, or the empty string for a root span
 * @param traceState         the W3C tracestate, usually empty
 * @param startEpochNanos    start, in nanoseconds since the epoch
 * @param endEpochNanos      end, in nanoseconds since the epoch
 * @param resourceAttributes the attributes of the resource that exported the span ({@code service.name}, ...)
 * @param scopeName          the instrumentation scope (the tracer's name)
 * @param scopeVersion       the instrumentation scope's version, or the empty string
 */
public record ReceivedSpan(
        String traceId,
        String spanId,
        String parentSpanId,
        String traceState,
        String name,
        Kind kind,
        long startEpochNanos,
        long endEpochNanos,
        Map<String, Object> attributes,
        Status status,
        List<Event> events,
        List<Link> links,
        Map<String, Object> resourceAttributes,
        String scopeName,
        String scopeVersion) {

    private static final int MAX_SHOWN_STRING = 120;

    public ReceivedSpan {
        Objects.requireNonNull(traceId, "traceId");
        Objects.requireNonNull(spanId, "spanId");
        Objects.requireNonNull(parentSpanId, "parentSpanId");
        Objects.requireNonNull(traceState, "traceState");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(scopeName, "scopeName");
        Objects.requireNonNull(scopeVersion, "scopeVersion");
        attributes = copy(attributes);
        events = List.copyOf(events);
        links = List.copyOf(links);
        resourceAttributes = copy(resourceAttributes);
    }

    /** The span kinds of OTLP ({@code SPAN_KIND_*}). */
    public enum Kind { UNSPECIFIED, INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER }

    /** The status codes of OTLP ({@code STATUS_CODE_*}). */
    public enum StatusCode { UNSET, OK, ERROR }

    /** A span's status; the message is empty unless the exporter sent one (the SDK sends it only for ERROR). */
    public record Status(StatusCode code, String message) {
        public Status {
            Objects.requireNonNull(code, "code");
            Objects.requireNonNull(message, "message");
        }

        @Override
        public String toString() {
            return message.isEmpty() ? code.name() : code + " \"" + message + "\"";
        }
    }

    /** An event recorded on a span ({@code span.addEvent}, {@code span.recordException}). */
    public record Event(String name, long epochNanos, Map<String, Object> attributes) {
        public Event {
            Objects.requireNonNull(name, "name");
            attributes = copy(attributes);
        }

        /** The value of one attribute, or null. */
        public Object attribute(String key) {
            return attributes.get(key);
        }
    }

    /** A link from a span to another span context. */
    public record Link(String traceId, String spanId, String traceState, Map<String, Object> attributes) {
        public Link {
            Objects.requireNonNull(traceId, "traceId");
            Objects.requireNonNull(spanId, "spanId");
            Objects.requireNonNull(traceState, "traceState");
            attributes = copy(attributes);
        }
    }

    /** True when the span has no parent. */
    public boolean isRoot() {
        return parentSpanId.isEmpty();
    }

    public long durationNanos() {
        return endEpochNanos - startEpochNanos;
    }

    /** The value of one attribute, or null. */
    public Object attribute(String key) {
        return attributes.get(key);
    }

    /** The events with this name, in the order they were recorded. */
    public List<Event> events(String name) {
        return events.stream().filter(e -> e.name().equals(name)).toList();
    }

    /** One line: name, kind, ids, status and attributes (what {@link OtlpReceiver#renderTree} prints per span). */
    @Override
    public String toString() {
        StringBuilder line = new StringBuilder();
        line.append(name).append(" [").append(kind).append("] span=").append(spanId);
        if (!isRoot()) {
            line.append(" parent=").append(parentSpanId);
        }
        line.append(" trace=").append(traceId);
        line.append(String.format(java.util.Locale.ROOT, " %.3fms", durationNanos() / 1e6));
        line.append(" status=").append(status);
        if (!attributes.isEmpty()) {
            line.append(' ').append(format(attributes));
        }
        return line.toString();
    }

    /** Attributes on one line: strings quoted, line breaks escaped, long strings cut. */
    static String format(Map<String, Object> attributes) {
        StringBuilder out = new StringBuilder("{");
        attributes.forEach((key, value) -> {
            if (out.length() > 1) {
                out.append(", ");
            }
            out.append(key).append('=').append(formatValue(value));
        });
        return out.append('}').toString();
    }

    @SuppressWarnings("unchecked")
    private static String formatValue(Object value) {
        if (value instanceof String text) {
            String shown = text.length() > MAX_SHOWN_STRING
                    ? text.substring(0, MAX_SHOWN_STRING) + "...(" + text.length() + " chars)" : text;
            return '"' + shown.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")
                    .replace("\r", "\\r").replace("\t", "\\t") + '"';
        }
        if (value instanceof List<?> list) {
            StringBuilder out = new StringBuilder("[");
            for (Object item : list) {
                if (out.length() > 1) {
                    out.append(", ");
                }
                out.append(formatValue(item));
            }
            return out.append(']').toString();
        }
        if (value instanceof Map<?, ?> map) {
            return format((Map<String, Object>) map);
        }
        if (value instanceof java.nio.ByteBuffer bytes) {
            byte[] copy = new byte[bytes.remaining()];
            bytes.duplicate().get(copy);
            return "0x" + java.util.HexFormat.of().formatHex(copy);
        }
        return String.valueOf(value);
    }

    static Map<String, Object> copy(Map<String, Object> map) {
        // Not Map.copyOf: that loses the wire order and refuses the null of an empty value.
        return Collections.unmodifiableMap(new LinkedHashMap<>(map));
    }

    static List<Object> copy(List<Object> list) {
        return Collections.unmodifiableList(new ArrayList<>(list));
    }
}
