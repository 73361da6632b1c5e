package dev.parley.testsupport.otlp;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.opentelemetry.exporter.internal.otlp.traces.TraceRequestMarshaler;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.common.export.RetryPolicy;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.data.EventData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The real OpenTelemetry SDK exports to {@link OtlpReceiver} over the JDK HttpClient sender, as Parley will; what
 * the receiver decodes must be what the SDK produced.
 */
class OtlpReceiverSdkTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Resource RESOURCE = Resource.getDefault().merge(Resource.create(Attributes.of(
            AttributeKey.stringKey("service.name"), "parley-test",
            AttributeKey.stringKey("service.version"), "0.1.0")));

    private final OtlpReceiver otlp = OtlpReceiver.start();
    private final Capture produced = new Capture();
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable closeable : toClose) {
            closeable.close();
        }
        otlp.close();
    }

    @ParameterizedTest(name = "compression {0}")
    @ValueSource(strings = {"none", "gzip"})
    void decodesTheTraceTheSdkExportsOverHttpProtobuf(String compression) {
        OtlpHttpSpanExporter exporter = OtlpHttpSpanExporter.builder()
                .setEndpoint(otlp.tracesEndpoint())
                .setCompression(compression)
                .build();
        // Batched with a short delay and no flush: the spans arrive on the SDK's own schedule, awaitSpans waits.
        SdkTracerProvider provider = provider(BatchSpanProcessor.builder(exporter)
                .setScheduleDelay(Duration.ofMillis(20)).build());

        chatTurn(provider.get("dev.parley.test", "1.2.3"));

        List<ReceivedSpan> received = otlp.awaitSpanCount(2, WAIT);
        assertMatchesSdk(received, produced.spans);
        assertChatTurnTree(received);
        assertThat(otlp.exportRequests()).isNotEmpty().allSatisfy(request -> {
            assertThat(request.path()).isEqualTo("/v1/traces");
            assertThat(request.contentType()).isEqualTo("application/x-protobuf");
            assertThat(request.contentEncoding()).isEqualTo(compression.equals("gzip") ? "gzip" : "");
            assertThat(request.status()).isEqualTo(200);
        });
    }

    @Test
    void endpointIsWhatOtelExporterOtlpEndpointTakes() {
        // What OTEL_EXPORTER_OTLP_ENDPOINT and friends configure, as properties: the SDK appends /v1/traces.
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put("otel.exporter.otlp.endpoint", otlp.endpoint());
        properties.put("otel.exporter.otlp.protocol", "http/protobuf");
        properties.put("otel.exporter.otlp.compression", "gzip");
        properties.put("otel.traces.exporter", "otlp");
        properties.put("otel.metrics.exporter", "none");
        properties.put("otel.logs.exporter", "none");
        properties.put("otel.service.name", "parley-autoconfigured");
        OpenTelemetrySdk sdk = AutoConfiguredOpenTelemetrySdk.builder()
                .addPropertiesSupplier(() -> properties)
                .disableShutdownHook()
                .build()
                .getOpenTelemetrySdk();
        toClose.add(sdk);

        chatTurn(sdk.getTracer("dev.parley.test", "1.2.3"));
        CompletableResultCode flushed = sdk.getSdkTracerProvider().forceFlush().join(10, TimeUnit.SECONDS);

        assertThat(flushed.isSuccess()).isTrue();
        // Kept before the receiver answered: a completed flush needs no waiting.
        List<ReceivedSpan> received = otlp.spans();
        assertChatTurnTree(received);
        assertThat(received).allSatisfy(span ->
                assertThat(span.resourceAttributes()).containsEntry("service.name", "parley-autoconfigured"));
        assertThat(otlp.exportRequests()).extracting(ExportRequest::path, ExportRequest::contentEncoding)
                .containsOnly(org.assertj.core.groups.Tuple.tuple("/v1/traces", "gzip"));
    }

    @Test
    void decodesTheSdksOtlpJson() throws Exception {
        SdkTracerProvider provider = provider(null);
        chatTurn(provider.get("dev.parley.test", "1.2.3"));
        assertThat(produced.spans).hasSize(2);
        // The SDK's own OTLP/JSON encoding (its HTTP span exporter offers no JSON switch).
        ByteArrayOutputStream json = new ByteArrayOutputStream();
        TraceRequestMarshaler.create(produced.spans).writeJsonTo(json);

        HttpResponse<String> response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(otlp.tracesUri())
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(json.toByteArray()))
                        .build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(response.body().replaceAll("\\s", "")).isEqualTo("{}");
        assertMatchesSdk(otlp.spans(), produced.spans);
        assertChatTurnTree(otlp.spans());
    }

    @Test
    void exporterRetriesThroughAThrottleAndDeliversOnce() {
        OtlpHttpSpanExporter exporter = OtlpHttpSpanExporter.builder()
                .setEndpoint(otlp.tracesEndpoint())
                .setRetryPolicy(RetryPolicy.builder().setMaxAttempts(4)
                        .setInitialBackoff(Duration.ofMillis(10)).setMaxBackoff(Duration.ofMillis(50)).build())
                .build();
        toClose.add(exporter::close);
        SdkTracerProvider provider = provider(null);
        chatTurn(provider.get("dev.parley.test", "1.2.3"));
        otlp.throttleNext(2, 503, Duration.ZERO);

        CompletableResultCode result = exporter.export(produced.spans).join(10, TimeUnit.SECONDS);

        assertThat(result.isSuccess()).isTrue();
        assertThat(otlp.exportRequests()).extracting(ExportRequest::status).containsExactly(503, 503, 200);
        assertMatchesSdk(otlp.spans(), produced.spans);
    }

    @Test
    void exportFailsQuietlyWhileTheCollectorRefusesAndWorksAfterwards() {
        OtlpHttpSpanExporter exporter = OtlpHttpSpanExporter.builder()
                .setEndpoint(otlp.tracesEndpoint())
                .setRetryPolicy(null)
                .build();
        toClose.add(exporter::close);
        SdkTracerProvider provider = provider(null);
        chatTurn(provider.get("dev.parley.test", "1.2.3"));
        otlp.throttleNext(1, 429, Duration.ofSeconds(30));

        CompletableResultCode refused = exporter.export(produced.spans).join(10, TimeUnit.SECONDS);
        CompletableResultCode accepted = exporter.export(produced.spans).join(10, TimeUnit.SECONDS);

        assertThat(refused.isDone()).isTrue();
        assertThat(refused.isSuccess()).isFalse();
        assertThat(accepted.isSuccess()).isTrue();
        assertThat(otlp.exportRequests()).extracting(ExportRequest::status).containsExactly(429, 200);
        assertThat(otlp.spans()).hasSize(2);
    }

    // ---- the trace -----------------------------------------------------------------------------------------------

    /** A chat turn as Parley will trace it: a SERVER span, and under it a failing CLIENT call to the provider. */
    private static void chatTurn(Tracer tracer) {
        Span server = tracer.spanBuilder("POST /api/threads/{id}/turns")
                .setSpanKind(SpanKind.SERVER)
                .setAttribute("http.request.method", "POST")
                .setAttribute("http.route", "/api/threads/{id}/turns")
                .startSpan();
        try (Scope ignored = server.makeCurrent()) {
            Span client = tracer.spanBuilder("chat gpt-4o-mini")
                    .setSpanKind(SpanKind.CLIENT)
                    .setAttribute("gen_ai.request.model", "gpt-4o-mini")
                    .setAttribute("gen_ai.usage.input_tokens", 42L)
                    .setAttribute("gen_ai.request.temperature", 0.25)
                    .setAttribute("parley.stream", true)
                    .setAttribute(AttributeKey.stringArrayKey("gen_ai.response.finish_reasons"), List.of("stop", "length"))
                    .setAttribute(AttributeKey.longArrayKey("parley.retry.delays_ms"), List.of(100L, 250L))
                    .setAttribute(AttributeKey.doubleArrayKey("parley.scores"), List.of(0.5, 1.5))
                    .setAttribute(AttributeKey.booleanArrayKey("parley.flags"), List.of(true, false))
                    .startSpan();
            client.addEvent("gen_ai.first_token", Attributes.of(AttributeKey.longKey("gen_ai.output.index"), 0L));
            client.recordException(new IllegalStateException("upstream answered 502"));
            client.setStatus(StatusCode.ERROR, "upstream answered 502");
            client.end();
        } finally {
            server.end();
        }
    }

    /** The tree and values chatTurn made, written out: what a Parley test will assert. */
    private static void assertChatTurnTree(List<ReceivedSpan> spans) {
        assertThat(spans).hasSize(2);
        ReceivedSpan root = spans.stream().filter(ReceivedSpan::isRoot).findFirst().orElseThrow(
                () -> new AssertionError("no root span in\n" + OtlpReceiver.renderTree(spans)));
        ReceivedSpan call = spans.stream().filter(s -> !s.isRoot()).findFirst().orElseThrow();

        assertThat(root.name()).isEqualTo("POST /api/threads/{id}/turns");
        assertThat(root.kind()).isEqualTo(ReceivedSpan.Kind.SERVER);
        assertThat(root.parentSpanId()).isEmpty();
        assertThat(root.traceId()).matches("[0-9a-f]{32}");
        assertThat(root.spanId()).matches("[0-9a-f]{16}");
        assertThat(root.status()).isEqualTo(new ReceivedSpan.Status(ReceivedSpan.StatusCode.UNSET, ""));
        assertThat(root.attributes()).containsExactly(
                Map.entry("http.request.method", "POST"), Map.entry("http.route", "/api/threads/{id}/turns"));
        assertThat(root.scopeName()).isEqualTo("dev.parley.test");
        assertThat(root.scopeVersion()).isEqualTo("1.2.3");
        assertThat(root.resourceAttributes()).containsEntry("telemetry.sdk.language", "java");

        assertThat(call.name()).isEqualTo("chat gpt-4o-mini");
        assertThat(call.kind()).isEqualTo(ReceivedSpan.Kind.CLIENT);
        assertThat(call.traceId()).isEqualTo(root.traceId());
        assertThat(call.parentSpanId()).isEqualTo(root.spanId());
        assertThat(call.startEpochNanos()).isBetween(root.startEpochNanos(), call.endEpochNanos());
        assertThat(call.endEpochNanos()).isLessThanOrEqualTo(root.endEpochNanos());
        assertThat(call.attributes())
                .containsEntry("gen_ai.request.model", "gpt-4o-mini")
                .containsEntry("gen_ai.usage.input_tokens", 42L)
                .containsEntry("gen_ai.request.temperature", 0.25)
                .containsEntry("parley.stream", true)
                .containsEntry("gen_ai.response.finish_reasons", List.of("stop", "length"))
                .containsEntry("parley.retry.delays_ms", List.of(100L, 250L))
                .containsEntry("parley.scores", List.of(0.5, 1.5))
                .containsEntry("parley.flags", List.of(true, false))
                .hasSize(8);
        assertThat(call.status()).isEqualTo(
                new ReceivedSpan.Status(ReceivedSpan.StatusCode.ERROR, "upstream answered 502"));
        assertThat(call.events()).extracting(ReceivedSpan.Event::name)
                .containsExactly("gen_ai.first_token", "exception");
        assertThat(call.events("gen_ai.first_token").get(0).attributes())
                .containsExactly(Map.entry("gen_ai.output.index", 0L));
        ReceivedSpan.Event exception = call.events("exception").get(0);
        assertThat(exception.attribute("exception.type")).isEqualTo("java.lang.IllegalStateException");
        assertThat(exception.attribute("exception.message")).isEqualTo("upstream answered 502");
        assertThat((String) exception.attribute("exception.stacktrace")).contains("chatTurn");

        String tree = OtlpReceiver.renderTree(spans);
        List<String> lines = tree.lines().toList();
        assertThat(lines).hasSize(5);
        assertThat(lines.get(0)).isEqualTo("trace " + root.traceId() + " (2 spans)");
        assertThat(lines.get(1)).startsWith("  POST /api/threads/{id}/turns [SERVER] span=" + root.spanId());
        assertThat(lines.get(2)).startsWith("    chat gpt-4o-mini [CLIENT] span=" + call.spanId())
                .contains("status=ERROR \"upstream answered 502\"", "gen_ai.usage.input_tokens=42");
        assertThat(lines.get(3)).isEqualTo("      * event gen_ai.first_token {gen_ai.output.index=0}");
        // One line per event: the stack trace's line breaks are escaped and its length cut.
        assertThat(lines.get(4)).startsWith("      * event exception {").endsWith("}").contains(
                "exception.type=\"java.lang.IllegalStateException\"",
                "exception.message=\"upstream answered 502\"",
                "exception.stacktrace=\"java.lang.IllegalStateException: upstream answered 502\\n\\tat ",
                " chars)\"");
    }

    /** Every span the SDK produced arrived once, with the SDK's ids, times, values and resource. */
    private static void assertMatchesSdk(List<ReceivedSpan> received, List<SpanData> sdk) {
        assertThat(received).extracting(ReceivedSpan::spanId)
                .containsExactlyInAnyOrderElementsOf(sdk.stream().map(SpanData::getSpanId).toList());
        for (SpanData expected : sdk) {
            ReceivedSpan actual = received.stream().filter(s -> s.spanId().equals(expected.getSpanId()))
                    .findFirst().orElseThrow();
            assertThat(actual.traceId()).isEqualTo(expected.getTraceId());
            assertThat(actual.parentSpanId()).isEqualTo(
                    expected.getParentSpanContext().isValid() ? expected.getParentSpanId() : "");
            assertThat(actual.name()).isEqualTo(expected.getName());
            assertThat(actual.kind().name()).isEqualTo(expected.getKind().name());
            assertThat(actual.startEpochNanos()).isEqualTo(expected.getStartEpochNanos());
            assertThat(actual.endEpochNanos()).isEqualTo(expected.getEndEpochNanos());
            assertThat(actual.attributes()).isEqualTo(plain(expected.getAttributes()));
            assertThat(actual.status().code().name()).isEqualTo(expected.getStatus().getStatusCode().name());
            assertThat(actual.status().message()).isEqualTo(expected.getStatus().getDescription());
            assertThat(actual.events()).hasSameSizeAs(expected.getEvents());
            for (int i = 0; i < expected.getEvents().size(); i++) {
                EventData event = expected.getEvents().get(i);
                assertThat(actual.events().get(i)).isEqualTo(new ReceivedSpan.Event(
                        event.getName(), event.getEpochNanos(), plain(event.getAttributes())));
            }
            assertThat(actual.resourceAttributes()).isEqualTo(plain(expected.getResource().getAttributes()));
            assertThat(actual.scopeName()).isEqualTo(expected.getInstrumentationScopeInfo().getName());
            assertThat(actual.scopeVersion()).isEqualTo(expected.getInstrumentationScopeInfo().getVersion());
        }
    }

    private static Map<String, Object> plain(Attributes attributes) {
        Map<String, Object> map = new LinkedHashMap<>();
        attributes.forEach((key, value) -> map.put(key.getKey(), value));
        return map;
    }

    // ---- plumbing --------------------------------------------------------------------------------------------------

    /** A provider that also hands every ended span to {@link #produced}; {@code export} may be null. */
    private SdkTracerProvider provider(SpanProcessor export) {
        var builder = SdkTracerProvider.builder().setResource(RESOURCE)
                .addSpanProcessor(SimpleSpanProcessor.create(produced));
        if (export != null) {
            builder.addSpanProcessor(export);
        }
        SdkTracerProvider provider = builder.build();
        toClose.add(0, provider);
        return provider;
    }

    /** Keeps the SpanData the SDK hands its exporters. */
    private static final class Capture implements SpanExporter {
        final List<SpanData> spans = new CopyOnWriteArrayList<>();

        @Override
        public CompletableResultCode export(Collection<SpanData> batch) {
            spans.addAll(batch);
            return CompletableResultCode.ofSuccess();
        }

        @Override
        public CompletableResultCode flush() {
            return CompletableResultCode.ofSuccess();
        }

        @Override
        public CompletableResultCode shutdown() {
            return CompletableResultCode.ofSuccess();
        }
    }
}
