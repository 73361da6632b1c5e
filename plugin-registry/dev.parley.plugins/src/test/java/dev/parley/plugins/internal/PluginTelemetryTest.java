package dev.parley.plugins.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.plugins.internal.PluginTelemetry.Operation;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.DoublePointData;
import io.opentelemetry.sdk.metrics.data.HistogramPointData;
import io.opentelemetry.sdk.metrics.data.LongPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The plugin instruments on the real SDK: names, units, attributes, buckets, gauges and spans. */
class PluginTelemetryTest {
    private final InMemoryMetricReader metrics = InMemoryMetricReader.create();
    private final InMemorySpanExporter spans = InMemorySpanExporter.create();
    private final OpenTelemetrySdk sdk = OpenTelemetrySdk.builder()
            .setMeterProvider(SdkMeterProvider.builder().registerMetricReader(metrics).build())
            .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build())
            .build();
    private final List<String> states = new CopyOnWriteArrayList<>();
    private final AtomicLong lastConverged = new AtomicLong(System.nanoTime());
    private final PluginTelemetry telemetry = new PluginTelemetry(sdk, "node-a", () -> states, lastConverged::get);

    @AfterEach
    void shutDown() {
        telemetry.close();
        sdk.close();
    }

    private MetricData metric(String name) {
        return metrics.collectAllMetrics().stream().filter(m -> m.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no metric " + name));
    }

    private static Attributes operation(String operation, String outcome) {
        return Attributes.of(PluginTelemetry.OPERATION, operation, PluginTelemetry.OUTCOME, outcome);
    }

    @Test
    void operationsAreCountedByOutcomeTimedAndSpanned() {
        PluginTelemetry.Tracked install = telemetry.start(Operation.INSTALL, "example.echo");
        install.versions(null, "1.0.0");
        assertThat(install.succeeded("state")).isEqualTo("state");
        PluginTelemetry.Tracked upgrade = telemetry.start(Operation.UPGRADE, "example.echo");
        upgrade.versions("1.0.0", "2.0.0");
        telemetry.healthGateFailed();
        upgrade.failed(new ParleyException(ErrorCode.PLUGIN_REJECTED, "upgrade was rolled back"));
        upgrade.failed(new IllegalStateException("a second end is ignored"));
        telemetry.start(Operation.RECONCILE, "example.other").failed(new IllegalStateException("bundle gone"));

        MetricData operations = metric("parley.plugin.operations");
        assertThat(operations.getUnit()).isEqualTo("{operation}");
        assertThat(operations.getLongSumData().isMonotonic()).isTrue();
        assertThat(operations.getLongSumData().getPoints().stream()
                .collect(Collectors.toMap(LongPointData::getAttributes, LongPointData::getValue)))
                .containsOnly(Map.entry(operation("install", "success"), 1L), Map.entry(operation("upgrade", "failure"), 1L),
                        Map.entry(operation("reconcile", "failure"), 1L));

        MetricData duration = metric("parley.plugin.operation.duration");
        assertThat(duration.getUnit()).isEqualTo("s");
        assertThat(duration.getHistogramData().getPoints()).extracting(HistogramPointData::getAttributes)
                .containsExactlyInAnyOrder(Attributes.of(PluginTelemetry.OPERATION, "install"),
                        Attributes.of(PluginTelemetry.OPERATION, "upgrade"),
                        Attributes.of(PluginTelemetry.OPERATION, "reconcile"));
        assertThat(duration.getHistogramData().getPoints()).allSatisfy(p -> {
            assertThat(p.getCount()).isEqualTo(1);
            assertThat(p.getBoundaries()).startsWith(0.05).endsWith(300.0)
                    .isEqualTo(PluginTelemetry.DURATION_BUCKETS);
        });

        MetricData gate = metric("parley.plugin.health_gate.failures");
        assertThat(gate.getUnit()).isEqualTo("{failure}");
        assertThat(gate.getLongSumData().getPoints()).singleElement()
                .satisfies(p -> assertThat(p.getValue()).isEqualTo(1));

        Map<String, SpanData> byName = spans.getFinishedSpanItems().stream()
                .collect(Collectors.toMap(SpanData::getName, s -> s));
        assertThat(byName).containsOnlyKeys("plugin.install", "plugin.upgrade", "plugin.reconcile");
        SpanData installed = byName.get("plugin.install");
        assertThat(installed.getKind()).isEqualTo(SpanKind.INTERNAL);
        assertThat(installed.getAttributes().asMap()).containsOnly(
                Map.entry(PluginTelemetry.PLUGIN_ID, "example.echo"), Map.entry(PluginTelemetry.TO_VERSION, "1.0.0"),
                Map.entry(PluginTelemetry.OUTCOME, "success"));
        SpanData failed = byName.get("plugin.upgrade");
        assertThat(failed.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        assertThat(failed.getAttributes().asMap()).contains(Map.entry(PluginTelemetry.FROM_VERSION, "1.0.0"),
                Map.entry(PluginTelemetry.TO_VERSION, "2.0.0"), Map.entry(PluginTelemetry.OUTCOME, "failure"),
                Map.entry(PluginTelemetry.ERROR_TYPE, "plugin-rejected"));
        assertThat(failed.getEvents()).extracting(e -> e.getName()).containsExactly("exception");
        assertThat(byName.get("plugin.reconcile").getAttributes().get(PluginTelemetry.ERROR_TYPE))
                .isEqualTo("java.lang.IllegalStateException");
    }

    @Test
    void theGaugesReportEveryStateOfThisNodesPluginsAndTheReconcilersLag() {
        states.addAll(List.of("active", "active", "failed", "quarantined"));
        lastConverged.set(System.nanoTime() - TimeUnit.SECONDS.toNanos(42));

        MetricData plugins = metric("parley.plugins");
        assertThat(plugins.getUnit()).isEqualTo("{plugin}");
        assertThat(plugins.getLongGaugeData().getPoints().stream()
                .collect(Collectors.toMap(p -> p.getAttributes().get(PluginTelemetry.STATE), LongPointData::getValue)))
                .containsOnly(Map.entry("active", 2L), Map.entry("disabled", 0L), Map.entry("needs-configuration", 0L),
                        Map.entry("failed", 1L), Map.entry("quarantined", 1L), Map.entry("crash-loop", 0L));

        MetricData lag = metric("parley.plugin.reconciler.lag");
        assertThat(lag.getUnit()).isEqualTo("s");
        DoublePointData point = lag.getDoubleGaugeData().getPoints().iterator().next();
        assertThat(point.getAttributes()).isEqualTo(Attributes.of(PluginTelemetry.NODE, "node-a"));
        assertThat(point.getValue()).isCloseTo(42.0, within(5.0));

        lastConverged.set(System.nanoTime());
        assertThat(metric("parley.plugin.reconciler.lag").getDoubleGaugeData().getPoints().iterator().next().getValue())
                .isLessThan(5.0);
    }

    @Test
    void aClosedTelemetryIsNoLongerCalledBack() {
        states.add("active");
        assertThat(metric("parley.plugins").getLongGaugeData().getPoints()).hasSize(6);

        telemetry.close();

        assertThat(metrics.collectAllMetrics()).extracting(MetricData::getName)
                .doesNotContain("parley.plugins", "parley.plugin.reconciler.lag");
    }
}
