package dev.parley.ratelimit.internal;

import dev.parley.api.limits.RateDecision;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.LongCounter;

/**
 * What the limiter records: its decisions by result ({@code parley.ratelimit.decisions}, on Prometheus
 * {@code parley_ratelimit_decisions_total{result="allowed|refused|degraded"}}). A degraded decision counts as
 * degraded whichever way the fail mode decided it.
 */
final class RateLimitTelemetry {
    static final String SCOPE = "dev.parley.ratelimit";
    static final AttributeKey<String> RESULT = AttributeKey.stringKey("result");
    static final RateLimitTelemetry NOOP = new RateLimitTelemetry(OpenTelemetry.noop());

    private static final Attributes ALLOWED = Attributes.of(RESULT, "allowed");
    private static final Attributes REFUSED = Attributes.of(RESULT, "refused");
    private static final Attributes DEGRADED = Attributes.of(RESULT, "degraded");

    private final OpenTelemetry otel;
    private final LongCounter decisions;

    RateLimitTelemetry(OpenTelemetry otel) {
        this.otel = otel;
        this.decisions = otel.getMeter(SCOPE).counterBuilder("parley.ratelimit.decisions").setUnit("{decision}")
                .setDescription("Rate-limit decisions by result: allowed, refused, or degraded (the shared store did "
                        + "not answer and the fail mode decided).")
                .build();
    }

    boolean recordsTo(OpenTelemetry candidate) {
        return otel == candidate;
    }

    void decided(RateDecision decision) {
        decisions.add(1, decision.degraded() ? DEGRADED : decision.allowed() ? ALLOWED : REFUSED);
    }
}
