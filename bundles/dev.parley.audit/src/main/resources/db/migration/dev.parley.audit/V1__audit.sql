-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- The audit trail, append-only: rows are inserted and, past the retention, purged in batches; never updated.
-- id: 32 lower-case hex digits of a UUIDv7 (time first), so its order is the order events were recorded.
CREATE TABLE parley_audit (
    id             CHAR(32) PRIMARY KEY,
    at             TIMESTAMP WITH TIME ZONE NOT NULL,
    actor          VARCHAR(200) NOT NULL,
    tenant_id      VARCHAR(200) NOT NULL,
    action         VARCHAR(100) NOT NULL,
    target         VARCHAR(400) NOT NULL,
    outcome        VARCHAR(16) NOT NULL,
    source_address VARCHAR(64) NOT NULL,
    detail         VARCHAR(8000) NOT NULL
);

CREATE INDEX parley_audit_at_idx ON parley_audit (at);
CREATE INDEX parley_audit_tenant_idx ON parley_audit (tenant_id, id);
CREATE INDEX parley_audit_actor_idx ON parley_audit (actor, id);
CREATE INDEX parley_audit_action_idx ON parley_audit (action, id);
