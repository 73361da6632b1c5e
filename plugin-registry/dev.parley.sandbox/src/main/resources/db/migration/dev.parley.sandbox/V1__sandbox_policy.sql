-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- Admins' changes to a tier's sandbox policy (the JSON of sandbox-policy/<tier>.json); a tier without a row uses the
-- policy the server ships. Shared by every node.
CREATE TABLE sandbox_policy (
    tier       VARCHAR(32) PRIMARY KEY,
    policy     TEXT NOT NULL,
    generation BIGINT NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_by VARCHAR(200) NOT NULL
);

-- Upgrades held because the new version asks for permissions the running one was not granted, until an admin
-- approves (one per plugin: a newer request replaces it).
CREATE TABLE sandbox_held_upgrades (
    plugin_id    VARCHAR(200) PRIMARY KEY,
    from_version VARCHAR(100) NOT NULL,
    to_version   VARCHAR(100) NOT NULL,
    permissions  TEXT NOT NULL,
    requested_by VARCHAR(200) NOT NULL,
    requested_at TIMESTAMP WITH TIME ZONE NOT NULL
);
