package dev.parley.audit.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditOutcome;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.LongPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AuditWriterTest {
    private final AuditIds ids = new AuditIds(Clock.systemUTC());
    private InMemoryMetricReader metrics;
    private OpenTelemetrySdk otel;
    private AuditTelemetry telemetry;
    private AuditWriter writer;

    @BeforeEach
    void setUp() {
        metrics = InMemoryMetricReader.create();
        otel = OpenTelemetrySdk.builder()
                .setMeterProvider(SdkMeterProvider.builder().registerMetricReader(metrics).build()).build();
        telemetry = new AuditTelemetry(otel);
    }

    @AfterEach
    void tearDown() {
        if (writer != null) {
            writer.close();
        }
        otel.close();
    }

    private AuditWriter writer(AuditWriter.Sink sink, int capacity, int batchSize, Duration stopTimeout) {
        writer = new AuditWriter(sink, capacity, batchSize, Duration.ofMillis(5), Duration.ofMillis(20), stopTimeout,
                () -> telemetry, Clock.systemUTC());
        return writer;
    }

    private AuditRow row(int n) {
        return new AuditRow(ids.next(), new AuditEvent(Instant.now(), "alice", "default", "test.event", "t" + n,
                AuditOutcome.SUCCESS, "127.0.0.1", Map.of("n", Integer.toString(n))));
    }

    /** A sink that holds the first batch until released, and records every batch it stored. */
    static final class GatedSink implements AuditWriter.Sink {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final List<List<AuditRow>> batches = new CopyOnWriteArrayList<>();

        @Override
        public void store(List<AuditRow> batch) {
            entered.countDown();
            try {
                if (!release.await(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the test never released the sink");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            batches.add(List.copyOf(batch));
        }

        List<String> storedTargets() {
            List<String> out = new ArrayList<>();
            batches.forEach(b -> b.forEach(r -> out.add(r.event().target())));
            return out;
        }
    }

    @Test
    void storesWhatIsQueuedInBatchesOfAtMostTheBatchSizeInOrder() throws Exception {
        var sink = new GatedSink();
        var w = writer(sink, 100, 4, Duration.ofSeconds(5));
        w.offer(row(0));
        assertThat(sink.entered.await(10, TimeUnit.SECONDS)).isTrue();
        // While the first batch is being stored, ten more wait.
        for (int i = 1; i <= 10; i++) {
            assertThat(w.offer(row(i))).isTrue();
        }
        assertThat(w.status().queued()).isEqualTo(11);
        sink.release.countDown();

        await().atMost(Duration.ofSeconds(10)).until(() -> w.status().stored() == 11);
        assertThat(sink.batches).extracting(List::size).containsExactly(1, 4, 4, 2);
        assertThat(sink.storedTargets()).containsExactly("t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9",
                "t10");
        assertThat(w.status().queued()).isZero();
        assertThat(counts()).containsEntry("stored", 11L).doesNotContainKey("dropped");
    }

    @Test
    void aFullQueueRefusesTheNewEventAndCountsIt() throws Exception {
        var sink = new GatedSink();
        var w = writer(sink, 3, 10, Duration.ofSeconds(5));
        w.offer(row(0)); // taken by the writer, held in the sink
        assertThat(sink.entered.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(w.offer(row(1))).isTrue();
        assertThat(w.offer(row(2))).isTrue();
        assertThat(w.offer(row(3))).isTrue();
        assertThat(w.offer(row(4))).as("the queue holds 3").isFalse();
        assertThat(w.offer(row(5))).isFalse();

        assertThat(w.status().dropped()).isEqualTo(2);
        assertThat(counts()).containsEntry("dropped", 2L);

        sink.release.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> w.status().stored() == 4);
        assertThat(sink.storedTargets()).containsExactly("t0", "t1", "t2", "t3");
        assertThat(w.offer(row(6))).as("room again").isTrue();
    }

    @Test
    void aRefusedBatchIsTriedAgainUntilStoredAndTheFailureShowsMeanwhile() throws Exception {
        var attempts = new AtomicInteger();
        var observed = new CountDownLatch(1);
        List<List<String>> stored = new CopyOnWriteArrayList<>();
        var w = writer(batch -> {
            int attempt = attempts.incrementAndGet();
            if (attempt <= 2) {
                throw new IllegalStateException("Could not store audit events");
            }
            // The third try waits until the test has seen the failure, then succeeds.
            try {
                observed.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            stored.add(batch.stream().map(r -> r.event().target()).toList());
        }, 100, 10, Duration.ofSeconds(5));

        w.offer(row(1));
        w.offer(row(2));
        await().atMost(Duration.ofSeconds(10)).until(() -> attempts.get() >= 3);
        assertThat(w.status().failing()).isTrue();
        assertThat(w.status().lastProblem()).isEqualTo("Could not store audit events");
        assertThat(w.status().queued()).as("the batch in the writer's hands counts as queued").isEqualTo(2);
        observed.countDown();

        await().atMost(Duration.ofSeconds(10)).until(() -> w.status().stored() == 2);
        // Each event once, in order. How they were batched depends on whether the writer took the first event
        // before the second was offered ([t1] refused twice, then [t1], [t2]) or not ([t1, t2]): both are right.
        assertThat(stored.stream().flatMap(List::stream).toList()).containsExactly("t1", "t2");
        assertThat(w.status().failing()).isFalse();
        assertThat(w.status().queued()).isZero();
    }

    @Test
    void closeStoresEverythingQueuedBeforeItReturns() throws Exception {
        var sink = new GatedSink();
        var w = writer(sink, 1000, 50, Duration.ofSeconds(5));
        w.offer(row(0));
        assertThat(sink.entered.await(10, TimeUnit.SECONDS)).isTrue();
        for (int i = 1; i < 120; i++) {
            w.offer(row(i));
        }
        sink.release.countDown();
        w.close();

        assertThat(sink.storedTargets()).hasSize(120).startsWith("t0", "t1").endsWith("t119");
        assertThat(w.status().stored()).isEqualTo(120);
        assertThat(w.offer(row(999))).as("closed: counted and logged, not queued").isFalse();
        assertThat(w.status().dropped()).isEqualTo(1);
    }

    @Test
    void closeWhileTheStoreFailsGivesUpAfterTheStopTimeoutAndCountsWhatIsLost() {
        var w = writer(batch -> {
            throw new IllegalStateException("Could not store audit events");
        }, 100, 2, Duration.ofMillis(300));
        for (int i = 0; i < 5; i++) {
            w.offer(row(i));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> w.status().failing());
        long start = System.nanoTime();
        w.close();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));

        assertThat(w.status().lost()).isEqualTo(5);
        assertThat(w.status().queued()).isZero();
        assertThat(counts()).containsEntry("lost", 5L).doesNotContainKey("stored");
    }

    private Map<String, Long> counts() {
        Map<String, Long> byResult = new HashMap<>();
        for (MetricData m : metrics.collectAllMetrics()) {
            if (m.getName().equals("parley.audit.events")) {
                for (LongPointData p : m.getLongSumData().getPoints()) {
                    Attributes a = p.getAttributes();
                    byResult.put(a.get(AuditTelemetry.RESULT), p.getValue());
                }
            }
        }
        return byResult;
    }
}
