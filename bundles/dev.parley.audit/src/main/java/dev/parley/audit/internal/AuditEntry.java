package dev.parley.audit.internal;

import java.time.Instant;
import java.util.Map;

/** One stored audit event, as the admin API shows it. */
public record AuditEntry(String id, Instant at, String actor, String tenant, String action, String target,
        String outcome, String sourceAddress, Map<String, String> detail) {
}
