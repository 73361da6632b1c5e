package dev.parley.db.internal;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.Meter;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The pool's connections by state, its maximum and the callers waiting for one, following the OpenTelemetry database
 * conventions ({@code db.client.connection.*}, read from Hikari when the metrics are collected). One instance per bound
 * {@link OpenTelemetry} service; the database swaps it when the service comes or goes, and {@link #close}s the old one
 * so the SDK stops calling back into the pool.
 */
final class PoolTelemetry implements AutoCloseable {
    static final String SCOPE = "dev.parley.db";
    static final AttributeKey<String> CONNECTION_STATE = AttributeKey.stringKey("db.client.connection.state");
    static final AttributeKey<String> POOL_NAME = AttributeKey.stringKey("db.client.connection.pool.name");
    /** The pool's name in metrics (dashboards and alerts select on it). */
    static final String POOL = "parley";

    private static final Attributes POOL_ATTRIBUTES = Attributes.of(POOL_NAME, POOL);
    private static final Attributes IDLE = Attributes.of(CONNECTION_STATE, "idle", POOL_NAME, POOL);
    private static final Attributes USED = Attributes.of(CONNECTION_STATE, "used", POOL_NAME, POOL);

    private final OpenTelemetry otel;
    private final List<AutoCloseable> observers;
    private final AtomicBoolean closed = new AtomicBoolean();

    PoolTelemetry(OpenTelemetry otel, HikariDataSource pool) {
        this.otel = otel;
        Meter meter = otel.getMeter(SCOPE);
        // Hikari's pool object is its HikariPoolMXBean whether or not it is registered with JMX (it is not).
        this.observers = List.of(
                meter.upDownCounterBuilder("db.client.connection.count").setUnit("{connection}")
                        .setDescription("Connections of the database pool, by state (idle or used).")
                        .buildWithCallback(m -> {
                            HikariPoolMXBean stats = pool.getHikariPoolMXBean();
                            if (stats != null) {
                                m.record(stats.getIdleConnections(), IDLE);
                                m.record(stats.getActiveConnections(), USED);
                            }
                        }),
                meter.upDownCounterBuilder("db.client.connection.max").setUnit("{connection}")
                        .setDescription("Most connections the database pool opens.")
                        .buildWithCallback(m -> m.record(pool.getMaximumPoolSize(), POOL_ATTRIBUTES)),
                meter.upDownCounterBuilder("db.client.connection.pending_requests").setUnit("{request}")
                        .setDescription("Callers waiting for a connection of the database pool.")
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
