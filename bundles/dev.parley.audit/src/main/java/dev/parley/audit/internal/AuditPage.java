package dev.parley.audit.internal;

import java.util.List;

/**
 * One page of the audit trail, newest first.
 *
 * @param events     the rows of this page
 * @param nextCursor pass as {@code cursor} for the next (older) page; null when this is the last
 */
public record AuditPage(List<AuditEntry> events, String nextCursor) {
}
