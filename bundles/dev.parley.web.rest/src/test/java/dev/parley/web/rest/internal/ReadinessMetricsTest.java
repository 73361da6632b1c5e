package dev.parley.web.rest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.apache.felix.hc.api.Result;
import org.junit.jupiter.api.Test;

import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;

/** /health/ready as metrics: the last answer as a gauge, and a counter of its changes for the flapping alert. */
class ReadinessMetricsTest {
    private final StubHealthChecks checks = new StubHealthChecks();
    private final InMemoryMetricReader reader = InMemoryMetricReader.create();

    @Test
    void theGaugeFollowsTheLastAnswerAndEveryFlipIsCounted() {
        try (OpenTelemetrySdk sdk = OpenTelemetrySdk.builder()
                .setMeterProvider(SdkMeterProvider.builder().registerMetricReader(reader).build()).build()) {
            HealthResource health = new HealthResource(checks, List.of("Parley core"));
            health.setOpenTelemetry(sdk);
            assertThat(value("parley.health.ready")).as("no answer yet, no point").isNull();

            checks.results = List.of(StubHealthChecks.result("Parley core", Result.Status.OK, "running"));
            assertThat(health.ready().getStatus()).isEqualTo(200);
            assertThat(value("parley.health.ready")).isEqualTo(1L);

            checks.results = List.of(StubHealthChecks.result("Parley core", Result.Status.CRITICAL, "down"));
            assertThat(health.ready().getStatus()).isEqualTo(503);
            health.ready();
            assertThat(value("parley.health.ready")).isEqualTo(0L);

            checks.results = List.of(StubHealthChecks.result("Parley core", Result.Status.OK, "running"));
            health.ready();
            assertThat(value("parley.health.ready")).isEqualTo(1L);
            assertThat(value("parley.health.ready.changes")).isEqualTo(2L);
        }
    }

    private Long value(String name) {
        for (MetricData m : reader.collectAllMetrics()) {
            if (m.getName().equals(name)) {
                var points = name.endsWith("changes") ? m.getLongSumData().getPoints() : m.getLongGaugeData().getPoints();
                return points.isEmpty() ? null : points.iterator().next().getValue();
            }
        }
        return null;
    }
}
