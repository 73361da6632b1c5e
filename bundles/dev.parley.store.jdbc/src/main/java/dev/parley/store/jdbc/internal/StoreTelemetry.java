package dev.parley.store.jdbc.internal;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.Meter;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the store records, following the OpenTelemetry database conventions: the duration of each store call
 * ({@code db.client.operation.duration}) and the pool's connections by state, its maximum and the callers waiting for
 * one ({@code db.client.connection.*}, read from Hikari when the metrics are collected). One instance per bound
 * {@link OpenTelemetry} service, immutable; the store swaps it when the service comes or goes, and {@link #close}s the
 * old one so the SDK stops calling its pool callbacks.
 */
final class StoreTelemetry implements AutoCloseable {
    static final String SCOPE = "dev.parley.store.jdbc";
    static final AttributeKey<String> DB_SYSTEM = AttributeKey.stringKey("db.system.name");
    static final AttributeKey<String> DB_OPERATION = AttributeKey.stringKey("db.operation.name");
    static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
    static final AttributeKey<String> CONNECTION_STATE = AttributeKey.stringKey("db.client.connection.state");
    static final AttributeKey<String> POOL_NAME = AttributeKey.stringKey("db.client.connection.pool.name");
    /** The pool's name in metrics: the name the store's {@code DataSource} service carries ({@code parley.datasource}). */
    static final String POOL = "parley";

    /** From half a millisecond (an H2 read) to ten seconds (a lock wait that ends in a timeout). */
    static final List<Double> DURATION_BUCKETS = List.of(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
            0.5, 1.0, 2.5, 5.0, 10.0);

    private static final Attributes POOL_ATTRIBUTES = Attributes.of(POOL_NAME, POOL);
    private static final Attributes IDLE = Attributes.of(CONNECTION_STATE, "idle", POOL_NAME, POOL);
    private static final Attributes USED = Attributes.of(CONNECTION_STATE, "used", POOL_NAME, POOL);

    /** The store call an operation is; its {@code db.operation.name} is the {@code ConversationStore} method's name. */
    enum Operation {
        CREATE("create"), FIND("find"), LIST("list"), DELETE("delete"), APPEND("append"), APPEND_ALL("appendAll"),
        FINISH("finish"), MESSAGES("messages"), STREAMING("streaming");

        final String dbName;

        Operation(String dbName) {
            this.dbName = dbName;
        }
    }

    private final OpenTelemetry otel;
    private final DoubleHistogram duration;
    private final List<AutoCloseable> observers;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Per operation: its attributes on success, and on failure per error code; built once, never per call. */
    private final Map<Operation, Attributes> succeeded = new EnumMap<>(Operation.class);
    private final Map<Operation, Map<ErrorCode, Attributes>> failed = new EnumMap<>(Operation.class);

    StoreTelemetry(OpenTelemetry otel, Dialect dialect, HikariDataSource pool) {
        this.otel = otel;
        String system = dialect.label();
        for (Operation op : Operation.values()) {
            Attributes ok = Attributes.of(DB_SYSTEM, system, DB_OPERATION, op.dbName);
            succeeded.put(op, ok);
            Map<ErrorCode, Attributes> byCode = new EnumMap<>(ErrorCode.class);
            for (ErrorCode code : ErrorCode.values()) {
                byCode.put(code, ok.toBuilder().put(ERROR_TYPE, code.slug()).build());
            }
            failed.put(op, byCode);
        }
        Meter meter = otel.getMeter(SCOPE);
        this.duration = meter.histogramBuilder("db.client.operation.duration").setUnit("s")
                .setDescription("Duration of conversation store calls, one transaction each, connection wait included.")
                .setExplicitBucketBoundariesAdvice(DURATION_BUCKETS).build();
        // Hikari's pool object is its HikariPoolMXBean whether or not it is registered with JMX (it is not).
        this.observers = List.of(
                meter.upDownCounterBuilder("db.client.connection.count").setUnit("{connection}")
                        .setDescription("Connections of the store's pool, by state (idle or used).")
                        .buildWithCallback(m -> {
                            HikariPoolMXBean stats = pool.getHikariPoolMXBean();
                            if (stats != null) {
                                m.record(stats.getIdleConnections(), IDLE);
                                m.record(stats.getActiveConnections(), USED);
                            }
                        }),
                meter.upDownCounterBuilder("db.client.connection.max").setUnit("{connection}")
                        .setDescription("Most connections the store's pool opens.")
                        .buildWithCallback(m -> m.record(pool.getMaximumPoolSize(), POOL_ATTRIBUTES)),
                meter.upDownCounterBuilder("db.client.connection.pending_requests").setUnit("{request}")
                        .setDescription("Callers waiting for a connection of the store's pool.")
                        .buildWithCallback(m -> {
                            HikariPoolMXBean stats = pool.getHikariPoolMXBean();
                            if (stats != null) {
                                m.record(stats.getThreadsAwaitingConnection(), POOL_ATTRIBUTES);
                            }
                        }));
    }

    boolean recordsTo(OpenTelemetry candidate) {
        return otel == candidate;
    }

    /** Records one store call that started at {@code startNanos} ({@link System#nanoTime()}); {@code failure} or null. */
    void record(Operation op, long startNanos, RuntimeException failure) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        if (failure == null) {
            duration.record(seconds, succeeded.get(op));
        } else if (failure instanceof ParleyException e && e.code() != null) {
            duration.record(seconds, failed.get(op).get(e.code()));
        } else {
            // Not expected from the store: a bug's exception class, bounded by the code that can throw it.
            duration.record(seconds, succeeded.get(op).toBuilder().put(ERROR_TYPE, failure.getClass().getName()).build());
        }
    }

    /** Stops the SDK calling back; once (DS unbinds the service again after deactivation). */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        for (AutoCloseable observer : observers) {
            try {
                observer.close();
            } catch (Exception e) {
                // An SDK that is shutting down: nothing is left to stop.
            }
        }
    }
}
