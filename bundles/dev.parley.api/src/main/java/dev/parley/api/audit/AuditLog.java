package dev.parley.api.audit;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Where bundles record what they did for the audit trail. Recording never fails the action that is recorded: an
 * event that cannot be stored right away is kept and written later, and is lost only when the process dies first
 * (the store logs every loss).
 */
@ProviderType
public interface AuditLog {
    /** Records {@code event}; returns without waiting for the store. */
    void record(AuditEvent event);
}
