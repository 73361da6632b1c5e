package dev.parley.audit.internal;

import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditLog;
import dev.parley.api.audit.AuditOutcome;
import dev.parley.api.identity.Principal;
import dev.parley.db.Database;
import io.opentelemetry.api.OpenTelemetry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.felix.hc.api.FormattingResultLog;
import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit trail: {@link AuditLog} for every bundle that records what it did, writing through an
 * {@link AuditWriter} (queued, batched, retried; the caller never waits for the database) into {@code parley_audit};
 * the retention purge, run every {@code purgeIntervalMinutes} in batches and recorded as an event of its own
 * ({@code audit.purge}); the readiness check "Parley audit trail" (WARN while events cannot be stored, or when some
 * were dropped: readiness stays UP, the node still serves). A changed configuration restarts it: what is queued is
 * stored first.
 */
@Component(name = AuditConfig.PID, configurationPid = AuditConfig.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL,
        immediate = true, service = { AuditLog.class, AuditReader.class, HealthCheck.class },
        property = { HealthCheck.NAME + "=Parley audit trail", HealthCheck.TAGS + "=ready" })
@Designate(ocd = AuditConfig.class)
public final class AuditTrail implements AuditLog, AuditReader, HealthCheck {
    private static final Logger LOG = LoggerFactory.getLogger(AuditTrail.class);
    /** The purge's own event: by Parley itself, in the operator's tenant. */
    static final String PURGE_ACTION = "audit.purge";
    static final String SYSTEM_ACTOR = "system";
    /** Batches one purge run deletes at most; the next run goes on where it stopped. */
    static final int PURGE_BATCHES_PER_RUN = 100;

    private final AuditTable table;
    private final AuditIds ids;
    private final AuditWriter writer;
    private final Clock clock;
    private final Duration retention;
    private final int purgeBatchSize;
    private final ScheduledExecutorService purger;
    /** Swapped whole when the OpenTelemetry service comes or goes. */
    private volatile AuditTelemetry telemetry = AuditTelemetry.NOOP;

    @Activate
    public AuditTrail(@Reference Database database, AuditConfig config) {
        this(database, config, Clock.systemUTC(), Duration.ofMillis(500), Duration.ofSeconds(30), Duration.ofSeconds(5));
    }

    AuditTrail(Database database, AuditConfig config, Clock clock, Duration retryMin, Duration retryMax,
            Duration stopTimeout) {
        if (config.retentionDays() < 1 || config.queueSize() < 1 || config.batchSize() < 1
                || config.purgeIntervalMinutes() < 0 || config.purgeBatchSize() < 1) {
            throw new IllegalArgumentException("Audit trail settings retentionDays, queueSize, batchSize, "
                    + "purgeBatchSize must be at least 1, purgeIntervalMinutes at least 0");
        }
        this.clock = clock;
        this.table = new AuditTable(database);
        table.migrate();
        this.ids = new AuditIds(clock);
        this.retention = Duration.ofDays(config.retentionDays());
        this.purgeBatchSize = config.purgeBatchSize();
        this.writer = new AuditWriter(table::insert, config.queueSize(), config.batchSize(), retryMin, retryMax,
                stopTimeout, () -> telemetry, clock);
        this.purger = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "parley-audit-purge");
            t.setDaemon(true);
            return t;
        });
        long interval = config.purgeIntervalMinutes();
        if (interval > 0) {
            purger.scheduleWithFixedDelay(this::purgeQuietly, Math.min(5, interval), interval, TimeUnit.MINUTES);
        } else {
            // A gateway leaves the purge to the cluster's workers (docs/architecture.md, "Distributions").
            LOG.info("Audit retention purge is off on this node (purgeIntervalMinutes=0)");
        }
        LOG.info("Audit trail ready retentionDays={} queueSize={} batchSize={}", config.retentionDays(),
                config.queueSize(), config.batchSize());
    }

    @Override
    public void record(AuditEvent event) {
        if (event == null) {
            LOG.warn("an audit event that is null was not recorded");
            return;
        }
        writer.offer(new AuditRow(ids.next(), event));
    }

    @Override
    public AuditPage find(AuditQuery query) {
        return table.find(query);
    }

    /**
     * Deletes the rows older than the retention, in batches of {@code purgeBatchSize} (each its own transaction), at
     * most {@value #PURGE_BATCHES_PER_RUN} batches; records what it did as {@code audit.purge} when it deleted
     * something or failed. Returns the number of rows deleted.
     */
    long purge() {
        Instant cutoff = clock.instant().minus(retention);
        long deleted = 0;
        try {
            for (int i = 0; i < PURGE_BATCHES_PER_RUN; i++) {
                int n = table.purge(cutoff, purgeBatchSize);
                deleted += n;
                telemetry.purged(n);
                if (n < purgeBatchSize) {
                    break;
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("purging old audit events failed deleted={}", deleted, e);
            record(purgeEvent(AuditOutcome.FAILURE, cutoff, deleted));
            return deleted;
        }
        if (deleted > 0) {
            LOG.info("Purged audit events older than the retention deleted={} olderThan={}", deleted, cutoff);
            record(purgeEvent(AuditOutcome.SUCCESS, cutoff, deleted));
        }
        return deleted;
    }

    private AuditEvent purgeEvent(AuditOutcome outcome, Instant cutoff, long deleted) {
        return new AuditEvent(clock.instant(), SYSTEM_ACTOR, Principal.OPERATOR_TENANT, PURGE_ACTION, "parley_audit",
                outcome, "", Map.of("deleted", Long.toString(deleted), "olderThan", cutoff.toString(),
                        "retentionDays", Long.toString(retention.toDays())));
    }

    private void purgeQuietly() {
        try {
            purge();
        } catch (RuntimeException e) {
            LOG.error("audit purge failed", e); // keeps the schedule
        }
    }

    AuditWriter.Status status() {
        return writer.status();
    }

    @Override
    public Result execute() {
        FormattingResultLog log = new FormattingResultLog();
        AuditWriter.Status s = writer.status();
        if (s.failing()) {
            log.warn("audit events cannot be stored since {} (queued={}, they are tried again): {}", s.failingSince(),
                    s.queued(), s.lastProblem());
        } else {
            log.info("audit events stored={} queued={}", s.stored(), s.queued());
        }
        if (s.dropped() > 0) {
            log.warn("{} audit events were dropped since start because the queue was full; each is in the log at "
                    + "ERROR (\"audit event not stored\")", s.dropped());
        }
        return new Result(log);
    }

    /** Optional and dynamic, so the trail (and its queue) stays when the observability bundle restarts. */
    @Reference(service = OpenTelemetry.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            unbind = "unbindOpenTelemetry")
    synchronized void bindOpenTelemetry(OpenTelemetry otel) {
        telemetry = new AuditTelemetry(otel);
    }

    synchronized void unbindOpenTelemetry(OpenTelemetry otel) {
        if (telemetry.recordsTo(otel)) {
            telemetry = AuditTelemetry.NOOP;
        }
    }

    /** Stops the purge, then stores what is queued (the writer tries for at most its stop timeout). */
    @Deactivate
    public void close() {
        purger.shutdown();
        try {
            // A purge batch in progress finishes (bounded by the database's timeouts); no interrupt (H2).
            if (!purger.awaitTermination(30, TimeUnit.SECONDS)) {
                LOG.warn("the audit purge did not finish in time");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        writer.close();
    }
}
