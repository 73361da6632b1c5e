package dev.parley.audit.internal;

import dev.parley.api.audit.AuditEvent;

/** An event with its row id, given when it was recorded, so a batch stored twice (a retry) is stored once. */
record AuditRow(String id, AuditEvent event) {
}
