package dev.parley.audit.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley audit trail",
        description = "How long audit events are kept and how they are written: queued in memory, stored in batches "
                + "by one writer thread, purged past the retention.")
public @interface AuditConfig {
    /** The configuration PID of the audit trail. */
    String PID = "dev.parley.audit";

    @AttributeDefinition(name = "Retention (days)", description = "Events older than this are purged (in batches, "
            + "by a scheduled job that records its own audit event). Nothing else ever removes a row.", min = "1")
    int retentionDays() default 365;

    @AttributeDefinition(name = "Queue size", description = "Events waiting to be stored, at most. When the queue is "
            + "full (the database has been failing for a while) a new event is not queued: it is written to the log "
            + "at ERROR and counted in parley_audit_events_total{result=\"dropped\"}.", min = "1")
    int queueSize() default 10_000;

    @AttributeDefinition(name = "Batch size", description = "Events stored in one transaction, at most.", min = "1")
    int batchSize() default 200;

    @AttributeDefinition(name = "Purge interval (minutes)", description = "How often the retention purge runs on "
            + "this node; 0: never (a gateway leaves it to the workers).", min = "0")
    int purgeIntervalMinutes() default 60;

    @AttributeDefinition(name = "Purge batch size", description = "Rows deleted in one transaction by the purge.",
            min = "1")
    int purgeBatchSize() default 1_000;
}
