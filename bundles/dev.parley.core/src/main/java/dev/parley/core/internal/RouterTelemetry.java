package dev.parley.core.internal;

import java.util.Collection;
import java.util.function.Supplier;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.metrics.ObservableLongGauge;

import dev.parley.api.error.ErrorCode;

/**
 * The router's metrics: breaker state per target (observed when metrics are collected, nothing per request), and
 * fallbacks and retries by the error class that caused them. Labels are bounded: targets come from the aliases and
 * claims, reasons from {@link ErrorCode}.
 */
final class RouterTelemetry implements AutoCloseable {
    static final AttributeKey<String> TARGET = AttributeKey.stringKey("target");
    static final AttributeKey<String> REASON = AttributeKey.stringKey("reason");

    static final RouterTelemetry NOOP = new RouterTelemetry(OpenTelemetry.noop(), java.util.List::of);

    private final LongCounter fallbacks;
    private final LongCounter retries;
    private final ObservableLongGauge breakerState;
    private final Attributes[] reasons = new Attributes[ErrorCode.values().length];

    RouterTelemetry(OpenTelemetry otel, Supplier<Collection<TargetState>> targets) {
        Meter meter = otel.getMeter(ChatTelemetry.SCOPE);
        this.fallbacks = meter.counterBuilder("parley.router.fallbacks").setUnit("{fallback}")
                .setDescription("Requests handed to the next target of an alias, by the error class of the failed one.")
                .build();
        this.retries = meter.counterBuilder("parley.router.retries").setUnit("{retry}")
                .setDescription("Calls retried on the same target after a backoff, by error class.").build();
        this.breakerState = meter.gaugeBuilder("parley.router.breaker.state").ofLongs()
                .setDescription("Circuit breaker of each provider/model target: 0 closed, 1 half-open, 2 open.")
                .buildWithCallback(m -> {
                    for (TargetState t : targets.get()) {
                        m.record(t.stateValue(), Attributes.of(TARGET, t.key));
                    }
                });
        for (ErrorCode c : ErrorCode.values()) {
            reasons[c.ordinal()] = Attributes.of(REASON, c.slug());
        }
    }

    void fallback(ErrorCode reason) {
        fallbacks.add(1, reasons[reason.ordinal()]);
    }

    void retry(ErrorCode reason) {
        retries.add(1, reasons[reason.ordinal()]);
    }

    @Override
    public void close() {
        breakerState.close();
    }
}
