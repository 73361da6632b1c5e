package dev.parley.testsupport.otlp;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** OTLP trace messages to and from the wire, and to {@link ReceivedSpan}s. */
final class OtlpCodec {

    /** google.rpc.Code INVALID_ARGUMENT. */
    static final int RPC_INVALID_ARGUMENT = 3;
    /** google.rpc.Code RESOURCE_EXHAUSTED. */
    static final int RPC_RESOURCE_EXHAUSTED = 8;
    /** google.rpc.Code UNAVAILABLE. */
    static final int RPC_UNAVAILABLE = 14;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HexFormat HEX = HexFormat.of();
    /** OTLP/JSON's one departure from the protobuf JSON mapping: these bytes fields are hex, not base64. */
    private static final Set<String> HEX_ID_FIELDS =
            Set.of("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id");

    private OtlpCodec() {
    }

    /** A request body the receiver refuses with 400. */
    static final class MalformedException extends Exception {
        MalformedException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    static ExportTraceServiceRequest parseProtobuf(byte[] body) throws MalformedException {
        try {
            return ExportTraceServiceRequest.parseFrom(body);
        } catch (InvalidProtocolBufferException e) {
            throw new MalformedException("not an ExportTraceServiceRequest in protobuf: " + e.getMessage(), e);
        }
    }

    /**
     * Parses OTLP/JSON: the protobuf JSON mapping, except that trace and span ids are hex strings. Unknown fields
     * are ignored, as the OTLP specification asks of receivers.
     */
    static ExportTraceServiceRequest parseJson(byte[] body) throws MalformedException {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (IOException e) {
            throw new MalformedException("not JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new MalformedException("an OTLP/JSON request is a JSON object", null);
        }
        hexIdsToBase64(root);
        ExportTraceServiceRequest.Builder request = ExportTraceServiceRequest.newBuilder();
        try {
            JsonFormat.parser().ignoringUnknownFields().merge(JSON.writeValueAsString(root), request);
        } catch (InvalidProtocolBufferException | JsonProcessingException e) {
            throw new MalformedException("not an ExportTraceServiceRequest in OTLP/JSON: " + e.getMessage(), e);
        }
        return request.build();
    }

    private static void hexIdsToBase64(JsonNode node) throws MalformedException {
        if (node.isArray()) {
            for (JsonNode item : node) {
                hexIdsToBase64(item);
            }
        } else if (node.isObject()) {
            ObjectNode object = (ObjectNode) node;
            List<String> names = new ArrayList<>();
            object.fieldNames().forEachRemaining(names::add);
            for (String name : names) {
                JsonNode value = object.get(name);
                if (HEX_ID_FIELDS.contains(name) && value.isTextual()) {
                    try {
                        object.put(name, Base64.getEncoder().encodeToString(HEX.parseHex(value.asText())));
                    } catch (IllegalArgumentException e) {
                        throw new MalformedException(
                                name + " must be hex in OTLP/JSON, got \"" + value.asText() + "\"", e);
                    }
                } else {
                    hexIdsToBase64(value);
                }
            }
        }
    }

    static byte[] responseProtobuf() {
        return ExportTraceServiceResponse.getDefaultInstance().toByteArray();
    }

    static byte[] responseJson() {
        try {
            return JsonFormat.printer().print(ExportTraceServiceResponse.getDefaultInstance())
                    .getBytes(StandardCharsets.UTF_8);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A google.rpc.Status (code = 1, message = 2, no details) in protobuf. */
    static byte[] statusProtobuf(int code, String message) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        try {
            out.writeInt32(1, code);
            out.writeString(2, message);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** A google.rpc.Status in the protobuf JSON mapping. */
    static byte[] statusJson(int code, String message) {
        ObjectNode status = JSON.createObjectNode().put("code", code).put("message", message);
        return status.toString().getBytes(StandardCharsets.UTF_8);
    }

    static List<ReceivedSpan> spans(ExportTraceServiceRequest request) {
        List<ReceivedSpan> spans = new ArrayList<>();
        for (ResourceSpans resourceSpans : request.getResourceSpansList()) {
            Resource resource = resourceSpans.getResource();
            Map<String, Object> resourceAttributes = attributes(resource.getAttributesList());
            for (ScopeSpans scopeSpans : resourceSpans.getScopeSpansList()) {
                String scopeName = scopeSpans.getScope().getName();
                String scopeVersion = scopeSpans.getScope().getVersion();
                for (Span span : scopeSpans.getSpansList()) {
                    spans.add(span(span, resourceAttributes, scopeName, scopeVersion));
                }
            }
        }
        return spans;
    }

    private static ReceivedSpan span(Span span, Map<String, Object> resourceAttributes, String scopeName,
                                     String scopeVersion) {
        List<ReceivedSpan.Event> events = new ArrayList<>();
        for (Span.Event event : span.getEventsList()) {
            events.add(new ReceivedSpan.Event(event.getName(), event.getTimeUnixNano(),
                    attributes(event.getAttributesList())));
        }
        List<ReceivedSpan.Link> links = new ArrayList<>();
        for (Span.Link link : span.getLinksList()) {
            links.add(new ReceivedSpan.Link(hex(link.getTraceId()), hex(link.getSpanId()), link.getTraceState(),
                    attributes(link.getAttributesList())));
        }
        return new ReceivedSpan(
                hex(span.getTraceId()),
                hex(span.getSpanId()),
                hex(span.getParentSpanId()),
                span.getTraceState(),
                span.getName(),
                kind(span.getKind()),
                span.getStartTimeUnixNano(),
                span.getEndTimeUnixNano(),
                attributes(span.getAttributesList()),
                new ReceivedSpan.Status(statusCode(span.getStatus().getCode()), span.getStatus().getMessage()),
                events,
                links,
                resourceAttributes,
                scopeName,
                scopeVersion);
    }

    private static ReceivedSpan.Kind kind(Span.SpanKind kind) {
        return switch (kind) {
            case SPAN_KIND_INTERNAL -> ReceivedSpan.Kind.INTERNAL;
            case SPAN_KIND_SERVER -> ReceivedSpan.Kind.SERVER;
            case SPAN_KIND_CLIENT -> ReceivedSpan.Kind.CLIENT;
            case SPAN_KIND_PRODUCER -> ReceivedSpan.Kind.PRODUCER;
            case SPAN_KIND_CONSUMER -> ReceivedSpan.Kind.CONSUMER;
            case SPAN_KIND_UNSPECIFIED, UNRECOGNIZED -> ReceivedSpan.Kind.UNSPECIFIED;
        };
    }

    private static ReceivedSpan.StatusCode statusCode(io.opentelemetry.proto.trace.v1.Status.StatusCode code) {
        return switch (code) {
            case STATUS_CODE_OK -> ReceivedSpan.StatusCode.OK;
            case STATUS_CODE_ERROR -> ReceivedSpan.StatusCode.ERROR;
            case STATUS_CODE_UNSET, UNRECOGNIZED -> ReceivedSpan.StatusCode.UNSET;
        };
    }

    private static String hex(ByteString bytes) {
        return HEX.formatHex(bytes.toByteArray());
    }

    private static Map<String, Object> attributes(List<KeyValue> keyValues) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (KeyValue keyValue : keyValues) {
            map.put(keyValue.getKey(), value(keyValue.getValue()));
        }
        return ReceivedSpan.copy(map);
    }

    private static Object value(AnyValue value) {
        return switch (value.getValueCase()) {
            case STRING_VALUE -> value.getStringValue();
            case BOOL_VALUE -> value.getBoolValue();
            case INT_VALUE -> value.getIntValue();
            case DOUBLE_VALUE -> value.getDoubleValue();
            case ARRAY_VALUE -> {
                List<Object> list = new ArrayList<>();
                for (AnyValue item : value.getArrayValue().getValuesList()) {
                    list.add(value(item));
                }
                yield ReceivedSpan.copy(list);
            }
            case KVLIST_VALUE -> attributes(value.getKvlistValue().getValuesList());
            case BYTES_VALUE -> ByteBuffer.wrap(value.getBytesValue().toByteArray()).asReadOnlyBuffer();
            // string_value_strindex points into a profiles dictionary; a trace export has none to look it up in.
            case STRING_VALUE_STRINDEX, VALUE_NOT_SET -> null;
        };
    }
}
