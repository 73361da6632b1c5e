package dev.parley.identity.internal;

import dev.parley.api.audit.AuditEvent;

/** Where the identity services report: the audit trail and the REVOKED event (both optional in the runtime). */
interface Notices {
    void audit(AuditEvent event);

    /** Posts {@code IdentityEvents.REVOKED}; {@code credentialId} empty for all of the subject's credentials. */
    void revoked(String subject, String tenant, String credentialId);

    Notices NONE = new Notices() {
        @Override
        public void audit(AuditEvent event) {
        }

        @Override
        public void revoked(String subject, String tenant, String credentialId) {
        }
    };
}
