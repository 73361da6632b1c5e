package dev.parley.web.ws.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;

/** The WebSocket's spans and connection gauge, over real loopback with a real OpenTelemetry SDK. */
class WebSocketTelemetryTest {
    private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String PARENT_ID = "00f067aa0ba902b7";

    private final InMemorySpanExporter spans = InMemorySpanExporter.create();
    private final InMemoryMetricReader metrics = InMemoryMetricReader.create();
    private final List<WsTestClient> clients = new ArrayList<>();
    private OpenTelemetrySdk sdk;
    private ScriptedChatService chat;
    private WsTestServer server;
    private HttpClient http;

    @BeforeEach
    void start() throws Exception {
        sdk = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build())
                .setMeterProvider(SdkMeterProvider.builder().registerMetricReader(metrics).build())
                // What the server's SDK uses by default (OTEL_PROPAGATORS=tracecontext,baggage).
                .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance())).build();
        chat = new ScriptedChatService();
        server = new WsTestServer(chat, SocketLimits.DEFAULTS);
        server.servlet().setOpenTelemetry(sdk);
        http = HttpClient.newHttpClient();
    }

    @AfterEach
    void stop() throws Exception {
        clients.forEach(WsTestClient::close);
        server.close();
        chat.close();
        sdk.close();
    }

    private WsTestClient connect() {
        var client = WsTestClient.connect(http, server.uri());
        clients.add(client);
        return client;
    }

    @Test
    void aSendFrameWithTraceparentIsAServerSpanInTheClientsTraceUntilItsLastFrame() throws Exception {
        var client = connect();
        client.send("{\"type\":\"send\",\"id\":\"r1\",\"conversationId\":\"c1\",\"content\":\"echo hi there\","
                + "\"traceparent\":\"00-" + TRACE_ID + "-" + PARENT_ID + "-01\"}");

        client.nextMatching(f -> f.get("type").asText().equals("done"));

        await().atMost(Duration.ofSeconds(10)).until(() -> !spans.getFinishedSpanItems().isEmpty());
        SpanData span = spans.getFinishedSpanItems().get(0);
        assertThat(span.getName()).isEqualTo("chat.ws send");
        assertThat(span.getKind()).isEqualTo(SpanKind.SERVER);
        assertThat(span.getTraceId()).isEqualTo(TRACE_ID);
        assertThat(span.getParentSpanId()).isEqualTo(PARENT_ID);
        assertThat(span.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
        // Core was called with the frame's span current: its turn span joins the same trace.
        assertThat(chat.spansAtSend).singleElement().satisfies(c -> {
            assertThat(c.getTraceId()).isEqualTo(TRACE_ID);
            assertThat(c.getSpanId()).isEqualTo(span.getSpanId());
        });
    }

    @Test
    void aFrameWithoutTraceparentStartsANewTraceAndAFailedTurnIsAnErrorSpan() throws Exception {
        var client = connect();
        client.send("{\"type\":\"send\",\"id\":\"r1\",\"conversationId\":\"unknown-1\",\"content\":\"hi\"}");

        assertThat(client.nextMatching(f -> f.get("type").asText().equals("error")).get("code").asText())
                .isEqualTo("not-found");

        await().atMost(Duration.ofSeconds(10)).until(() -> !spans.getFinishedSpanItems().isEmpty());
        SpanData span = spans.getFinishedSpanItems().get(0);
        assertThat(span.getParentSpanContext().isValid()).isFalse();
        assertThat(span.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        assertThat(span.getAttributes().get(WsTelemetry.ERROR_TYPE)).isEqualTo("not-found");
    }

    @Test
    void openSocketsAreAGauge() {
        connect();
        connect();
        await().atMost(Duration.ofSeconds(10)).until(() -> server.servlet() != null && gauge() == 2);
        clients.remove(0).close();
        await().atMost(Duration.ofSeconds(10)).until(() -> gauge() == 1);
    }

    private long gauge() {
        return metrics.collectAllMetrics().stream()
                .filter(m -> m.getName().equals("parley.websocket.connections.active"))
                .map(MetricData::getLongSumData).flatMap(d -> d.getPoints().stream())
                .mapToLong(p -> p.getValue()).sum();
    }
}
