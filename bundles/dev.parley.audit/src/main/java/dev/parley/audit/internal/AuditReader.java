package dev.parley.audit.internal;

/** Reads the audit trail; the bundle's own service between the trail and its admin resource. */
public interface AuditReader {
    AuditPage find(AuditQuery query);
}
