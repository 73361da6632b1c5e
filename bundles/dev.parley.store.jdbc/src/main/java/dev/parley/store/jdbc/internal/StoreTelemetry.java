package dev.parley.store.jdbc.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * What the store records, following the OpenTelemetry database conventions: the duration of each store call
 * ({@code db.client.operation.duration}). The pool's connections are the database's ({@code dev.parley.db}). One
 * instance per bound {@link OpenTelemetry} service, immutable; the store swaps it when the service comes or goes.
 */
final class StoreTelemetry {
    static final String SCOPE = "dev.parley.store.jdbc";
    static final AttributeKey<String> DB_SYSTEM = AttributeKey.stringKey("db.system.name");
    static final AttributeKey<String> DB_OPERATION = AttributeKey.stringKey("db.operation.name");
    static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");

    /** From half a millisecond (an H2 read) to ten seconds (a lock wait that ends in a timeout). */
    static final List<Double> DURATION_BUCKETS = List.of(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
            0.5, 1.0, 2.5, 5.0, 10.0);

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
    /** Per operation: its attributes on success, and on failure per error code; built once, never per call. */
    private final Map<Operation, Attributes> succeeded = new EnumMap<>(Operation.class);
    private final Map<Operation, Map<ErrorCode, Attributes>> failed = new EnumMap<>(Operation.class);

    /** @param system the database's {@code db.system.name}: its {@link dev.parley.db.Database#dialect()} */
    StoreTelemetry(OpenTelemetry otel, String system) {
        this.otel = otel;
        for (Operation op : Operation.values()) {
            Attributes ok = Attributes.of(DB_SYSTEM, system, DB_OPERATION, op.dbName);
            succeeded.put(op, ok);
            Map<ErrorCode, Attributes> byCode = new EnumMap<>(ErrorCode.class);
            for (ErrorCode code : ErrorCode.values()) {
                byCode.put(code, ok.toBuilder().put(ERROR_TYPE, code.slug()).build());
            }
            failed.put(op, byCode);
        }
        this.duration = otel.getMeter(SCOPE).histogramBuilder("db.client.operation.duration").setUnit("s")
                .setDescription("Duration of conversation store calls, one transaction each, connection wait included.")
                .setExplicitBucketBoundariesAdvice(DURATION_BUCKETS).build();
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
}
