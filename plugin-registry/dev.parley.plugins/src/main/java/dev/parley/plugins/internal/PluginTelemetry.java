package dev.parley.plugins.internal;

import dev.parley.api.error.ParleyException;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * What the plugin lifecycle records: each operation (count by outcome, duration, an INTERNAL span), health-gate
 * failures, this node's plugins by state and how long ago its reconciler last converged. One instance per bound
 * {@link OpenTelemetry} service, immutable; {@link PluginOperations} swaps it when the service comes or goes, and
 * {@link #close}s the old one so the SDK stops calling its gauges back.
 *
 * <p>The plugin id is a span attribute only: in metrics it would be one series per plugin ever tried, typos included.
 */
final class PluginTelemetry implements AutoCloseable {
    static final String SCOPE = "dev.parley.plugins";
    static final AttributeKey<String> OPERATION = AttributeKey.stringKey("parley.plugin.operation");
    static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("parley.plugin.outcome");
    static final AttributeKey<String> STATE = AttributeKey.stringKey("parley.plugin.state");
    static final AttributeKey<String> NODE = AttributeKey.stringKey("parley.node.id");
    static final AttributeKey<String> PLUGIN_ID = AttributeKey.stringKey("parley.plugin.id");
    static final AttributeKey<String> FROM_VERSION = AttributeKey.stringKey("parley.plugin.version.from");
    static final AttributeKey<String> TO_VERSION = AttributeKey.stringKey("parley.plugin.version.to");
    static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
    static final String SUCCESS = "success";
    static final String FAILURE = "failure";

    /** The states this node reports per plugin (its node-status rows). */
    static final List<String> STATES = List.of(PluginOperations.ACTIVE, PluginOperations.DISABLED,
            PluginOperations.NEEDS_CONFIGURATION, PluginOperations.FAILED, PluginOperations.QUARANTINED,
            PluginOperations.CRASH_LOOP);

    /** From a quick refusal (tens of ms) to an install whose health gate or old version's drain takes minutes. */
    static final List<Double> DURATION_BUCKETS = List.of(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0,
            120.0, 300.0);

    /** An operation on one plugin; its attributes are built once. */
    enum Operation {
        INSTALL, UPGRADE, ROLLBACK, UNINSTALL, ENABLE, DISABLE, RECONCILE;

        final String value = name().toLowerCase(Locale.ROOT);
        final String spanName = "plugin." + value;
        final Attributes attributes = Attributes.of(OPERATION, value);
        final Attributes succeeded = Attributes.of(OPERATION, value, OUTCOME, SUCCESS);
        final Attributes failed = Attributes.of(OPERATION, value, OUTCOME, FAILURE);
    }

    private final OpenTelemetry otel;
    private final Tracer tracer;
    private final LongCounter operations;
    private final DoubleHistogram duration;
    private final LongCounter gateFailures;
    private final List<AutoCloseable> gauges;
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * @param states             the state of each plugin this node reports, read when metrics are collected
     * @param lastConvergedNanos {@link System#nanoTime()} of the reconciler's last pass that left nothing failed
     */
    PluginTelemetry(OpenTelemetry otel, String nodeId, Supplier<? extends Collection<String>> states,
            LongSupplier lastConvergedNanos) {
        this.otel = otel;
        this.tracer = otel.getTracer(SCOPE);
        Meter meter = otel.getMeter(SCOPE);
        this.operations = meter.counterBuilder("parley.plugin.operations").setUnit("{operation}")
                .setDescription("Plugin operations on this node (admin and reconciler), by operation and outcome.")
                .build();
        this.duration = meter.histogramBuilder("parley.plugin.operation.duration").setUnit("s")
                .setDescription("Duration of plugin operations on this node, lock wait and health gate included.")
                .setExplicitBucketBoundariesAdvice(DURATION_BUCKETS).build();
        this.gateFailures = meter.counterBuilder("parley.plugin.health_gate.failures").setUnit("{failure}")
                .setDescription("Plugin versions that failed their health gate on this node (the step was undone).")
                .build();
        List<Attributes> stateAttributes = STATES.stream().map(s -> Attributes.of(STATE, s)).toList();
        Attributes node = Attributes.of(NODE, nodeId);
        this.gauges = List.of(
                meter.gaugeBuilder("parley.plugins").ofLongs().setUnit("{plugin}")
                        .setDescription("Plugins on this node by the state it reports for them.")
                        .buildWithCallback(m -> {
                            Collection<String> now = states.get();
                            for (int i = 0; i < STATES.size(); i++) {
                                String state = STATES.get(i);
                                m.record(now.stream().filter(state::equals).count(), stateAttributes.get(i));
                            }
                        }),
                meter.gaugeBuilder("parley.plugin.reconciler.lag").setUnit("s")
                        .setDescription("Seconds since this node's plugin reconciler last converged (a pass that "
                                + "left no plugin failed); 0 right after one.")
                        .buildWithCallback(m -> m.record(
                                Math.max(0, System.nanoTime() - lastConvergedNanos.getAsLong()) / 1e9, node)));
    }

    boolean recordsTo(OpenTelemetry candidate) {
        return otel == candidate;
    }

    /** Starts timing {@code op} on {@code pluginId}, with its span current on this thread until it ends. */
    Tracked start(Operation op, String pluginId) {
        Span span = tracer.spanBuilder(op.spanName).setSpanKind(SpanKind.INTERNAL).setAttribute(PLUGIN_ID, pluginId)
                .startSpan();
        return new Tracked(op, span, span.makeCurrent(), System.nanoTime());
    }

    void healthGateFailed() {
        gateFailures.add(1);
    }

    /** Stops the SDK calling back; once (DS unbinds the service again after deactivation). */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        for (AutoCloseable gauge : gauges) {
            try {
                gauge.close();
            } catch (Exception e) {
                // An SDK that is shutting down: nothing is left to stop.
            }
        }
    }

    /** One operation in progress; ends once, with {@link #succeeded} or {@link #failed}, on the thread that started it. */
    final class Tracked {
        private final Operation op;
        private final Span span;
        private final Scope scope;
        private final long start;
        private boolean ended;

        private Tracked(Operation op, Span span, Scope scope, long start) {
            this.op = op;
            this.span = span;
            this.scope = scope;
            this.start = start;
        }

        /** The versions moved from and to, as far as known (null: none). */
        void versions(String from, String to) {
            if (from != null) {
                span.setAttribute(FROM_VERSION, from);
            }
            if (to != null) {
                span.setAttribute(TO_VERSION, to);
            }
        }

        <T> T succeeded(T result) {
            end(null);
            return result;
        }

        void succeeded() {
            end(null);
        }

        void failed(RuntimeException e) {
            end(e);
        }

        private void end(RuntimeException failure) {
            if (ended) {
                return;
            }
            ended = true;
            operations.add(1, failure == null ? op.succeeded : op.failed);
            duration.record((System.nanoTime() - start) / 1e9, op.attributes);
            span.setAttribute(OUTCOME, failure == null ? SUCCESS : FAILURE);
            if (failure != null) {
                span.setAttribute(ERROR_TYPE, failure instanceof ParleyException p && p.code() != null
                        ? p.code().slug() : failure.getClass().getName());
                span.setStatus(StatusCode.ERROR, failure.getMessage());
                span.recordException(failure);
            }
            scope.close();
            span.end();
        }
    }
}
