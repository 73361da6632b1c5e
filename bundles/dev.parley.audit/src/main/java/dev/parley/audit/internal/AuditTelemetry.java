package dev.parley.audit.internal;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.LongCounter;

/**
 * What the audit trail records about itself: events by what became of them ({@code parley.audit.events}, on
 * Prometheus {@code parley_audit_events_total{result="stored|dropped|lost"}}) and rows purged past the retention
 * ({@code parley.audit.purged}). {@code dropped}: the queue was full, the event went to the log only; {@code lost}:
 * still not stored when the writer stopped, written to the log only.
 */
final class AuditTelemetry {
    static final String SCOPE = "dev.parley.audit";
    static final AttributeKey<String> RESULT = AttributeKey.stringKey("result");
    static final AuditTelemetry NOOP = new AuditTelemetry(OpenTelemetry.noop());

    private static final Attributes STORED = Attributes.of(RESULT, "stored");
    private static final Attributes DROPPED = Attributes.of(RESULT, "dropped");
    private static final Attributes LOST = Attributes.of(RESULT, "lost");

    private final OpenTelemetry otel;
    private final LongCounter events;
    private final LongCounter purged;

    AuditTelemetry(OpenTelemetry otel) {
        this.otel = otel;
        var meter = otel.getMeter(SCOPE);
        this.events = meter.counterBuilder("parley.audit.events").setUnit("{event}")
                .setDescription("Audit events by what became of them: stored; dropped (the queue was full: logged "
                        + "only); lost (not stored when the writer stopped: logged only).")
                .build();
        this.purged = meter.counterBuilder("parley.audit.purged").setUnit("{row}")
                .setDescription("Audit rows deleted by the retention purge.").build();
    }

    boolean recordsTo(OpenTelemetry candidate) {
        return otel == candidate;
    }

    void stored(int n) {
        events.add(n, STORED);
    }

    void dropped() {
        events.add(1, DROPPED);
    }

    void lost(int n) {
        events.add(n, LOST);
    }

    void purged(long n) {
        purged.add(n);
    }
}
