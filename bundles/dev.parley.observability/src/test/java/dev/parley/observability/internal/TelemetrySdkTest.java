package dev.parley.observability.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Scope;

class TelemetrySdkTest {
    @Test
    void tracesAreOffWithoutAnEndpointAndOnWithOne() {
        Map<String, String> none = TelemetrySdk.defaults(k -> null, k -> null);
        assertThat(none).containsEntry("otel.traces.exporter", "none").containsEntry("otel.traces.sampler", "always_off")
                .containsEntry("otel.service.name", "parley");
        Map<String, String> env = Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318");
        assertThat(TelemetrySdk.defaults(env::get, k -> null)).doesNotContainKeys("otel.traces.exporter",
                "otel.traces.sampler");
        Map<String, String> props = Map.of("otel.exporter.otlp.traces.endpoint", "http://127.0.0.1:4318/v1/traces");
        assertThat(TelemetrySdk.defaults(k -> null, props::get)).doesNotContainKey("otel.traces.exporter");
    }

    @Test
    void scrapesSdkJvmAndProcessMetricsInBothFormats() throws Exception {
        TelemetrySdk sdk = new TelemetrySdk(k -> null, k -> null);
        try {
            sdk.getMeter("test").counterBuilder("parley.test.things").build().add(3);
            TelemetrySdk.Scrape text = sdk.scrape(null);
            String body = new String(text.body(), StandardCharsets.UTF_8);
            assertThat(text.contentType()).startsWith("text/plain; version=0.0.4");
            assertThat(body).contains("parley_test_things_total 3.0").contains("jvm_memory_used_bytes{area=\"heap\"}")
                    .contains("process_cpu_seconds_total").contains("jvm_threads_current");
            TelemetrySdk.Scrape open = sdk.scrape("application/openmetrics-text; version=1.0.0");
            assertThat(open.contentType()).startsWith("application/openmetrics-text");
            assertThat(new String(open.body(), StandardCharsets.UTF_8)).endsWith("# EOF\n");
        } finally {
            sdk.deactivate();
        }
    }

    @Test
    void withTracesOffSpansStillCarryIdsToLogsAndUpstreams() {
        TelemetrySdk sdk = new TelemetrySdk(k -> null, k -> null);
        try {
            Span span = sdk.getTracer("test").spanBuilder("x").startSpan();
            assertThat(span.isRecording()).isFalse();
            assertThat(span.getSpanContext().isValid()).isTrue();
            Map<String, String> headers = new HashMap<>();
            try (Scope s = span.makeCurrent()) {
                sdk.inject(headers::put);
            }
            String traceparent = headers.get("traceparent");
            assertThat(traceparent)
                    .startsWith("00-" + span.getSpanContext().getTraceId() + "-" + span.getSpanContext().getSpanId() + "-");
            // Not sampled: the upstream is told this trace is not recorded here.
            assertThat(Integer.parseInt(traceparent.substring(traceparent.length() - 2), 16) & 1).isZero();
            headers.clear();
            sdk.inject(headers::put);
            assertThat(headers).isEmpty();
        } finally {
            sdk.deactivate();
        }
    }

    @Test
    void aDisabledSdkRecordsNothingButTheJvmAndProcessMetricsStay() throws Exception {
        Map<String, String> env = Map.of("OTEL_SDK_DISABLED", "true");
        TelemetrySdk sdk = new TelemetrySdk(env::get, k -> null);
        try {
            Span span = sdk.getTracer("test").spanBuilder("x").startSpan();
            assertThat(span.isRecording()).isFalse();
            assertThat(span.getSpanContext().isValid()).isFalse();
            sdk.getMeter("test").counterBuilder("parley.test.things").build().add(3);
            String body = new String(sdk.scrape(null).body(), StandardCharsets.UTF_8);
            assertThat(body).doesNotContain("parley_test_things").contains("process_cpu_seconds_total");
        } finally {
            sdk.deactivate();
        }
    }

    @Test
    void aSettingTheSdkRefusesLeavesMetricsRunningAndExportsNoTraces() throws Exception {
        // OTLP over gRPC needs a sender Parley does not carry: the SDK refuses to build. The SDK reads the real
        // system properties (as it reads the real environment), so the test sets them.
        System.setProperty("otel.exporter.otlp.endpoint", "http://127.0.0.1:4317");
        System.setProperty("otel.exporter.otlp.protocol", "grpc");
        TelemetrySdk sdk;
        try {
            sdk = new TelemetrySdk(k -> null, System::getProperty);
        } finally {
            System.clearProperty("otel.exporter.otlp.endpoint");
            System.clearProperty("otel.exporter.otlp.protocol");
        }
        try {
            assertThat(sdk.getTracer("test").spanBuilder("x").startSpan().isRecording()).isFalse();
            sdk.getMeter("test").counterBuilder("parley.test.things").build().add(2);
            assertThat(new String(sdk.scrape(null).body(), StandardCharsets.UTF_8)).contains("parley_test_things_total 2.0");
        } finally {
            sdk.deactivate();
        }
    }
}
