package dev.parley.web.ws.internal;

import java.util.Map;
import java.util.function.IntSupplier;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.metrics.ObservableLongUpDownCounter;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;

import dev.parley.api.error.ParleyException;

/**
 * The WebSocket's traces and metrics: each {@code send} frame is a SERVER span (joining the client's trace when the
 * frame carries a W3C {@code traceparent}) that lasts until the turn's last frame, and the number of open sockets.
 * One instance per bound {@link OpenTelemetry}; {@link #NOOP} without one.
 */
final class WsTelemetry implements AutoCloseable {
    static final WsTelemetry NOOP = new WsTelemetry(OpenTelemetry.noop(), () -> 0);

    static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
    static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("parley.request.id");
    static final AttributeKey<String> SYSTEM = AttributeKey.stringKey("rpc.system");

    private static final TextMapGetter<Map<String, String>> FRAME = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Map<String, String> carrier) {
            return carrier.keySet();
        }

        @Override
        public String get(Map<String, String> carrier, String key) {
            return carrier == null ? null : carrier.get(key);
        }
    };

    private final OpenTelemetry otel;
    private final Tracer tracer;
    private final ObservableLongUpDownCounter connections;

    WsTelemetry(OpenTelemetry otel, IntSupplier openSockets) {
        this.otel = otel;
        this.tracer = otel.getTracer("dev.parley.web.ws");
        this.connections = otel.getMeter("dev.parley.web.ws").upDownCounterBuilder("parley.websocket.connections.active")
                .setUnit("{connection}").setDescription("Chat WebSocket connections open.")
                .buildWithCallback(m -> m.record(openSockets.getAsInt()));
    }

    /** The span of one {@code send} frame: a child of the client's trace when the frame names one. */
    Span startSend(String requestId, String traceparent, String tracestate) {
        Context parent = Context.root();
        if (traceparent != null) {
            Map<String, String> carrier = tracestate == null ? Map.of("traceparent", traceparent)
                    : Map.of("traceparent", traceparent, "tracestate", tracestate);
            parent = otel.getPropagators().getTextMapPropagator().extract(Context.root(), carrier, FRAME);
        }
        return tracer.spanBuilder("chat.ws send").setParent(parent).setSpanKind(SpanKind.SERVER)
                .setAttribute(SYSTEM, "parley.websocket").setAttribute(REQUEST_ID, requestId).startSpan();
    }

    static void failed(Span span, ParleyException error) {
        span.setAttribute(ERROR_TYPE, error.code().slug());
        span.setStatus(StatusCode.ERROR, error.getMessage());
    }

    @Override
    public void close() {
        connections.close();
    }
}
