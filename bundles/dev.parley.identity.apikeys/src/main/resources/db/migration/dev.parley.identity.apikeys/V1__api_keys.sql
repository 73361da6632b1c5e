-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- API keys of programs. The key itself is never stored: only the SHA-256 of its secret part (hex), compared in
-- constant time. key_id is the public part of the key (pk-parley-<key_id>_<secret><checksum>).
CREATE TABLE api_keys (
    key_id        VARCHAR(32) PRIMARY KEY,
    tenant_id     VARCHAR(200) NOT NULL,
    owner_subject VARCHAR(200) NOT NULL,
    owner_issuer  VARCHAR(1000) NOT NULL,
    name          VARCHAR(100) NOT NULL,
    secret_sha256 VARCHAR(64) NOT NULL,
    -- space-separated role slugs (owner, admin, ...) the key acts with, at most its creator's
    roles         VARCHAR(200) NOT NULL,
    -- space-separated scopes: permission slugs (chat, models:read) and model:<id>; empty: no limit beyond the roles
    scopes        TEXT NOT NULL,
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at    TIMESTAMP WITH TIME ZONE,
    revoked_at    TIMESTAMP WITH TIME ZONE,
    revoked_by    VARCHAR(200),
    -- written asynchronously, at most once per interval per key and node (never per request)
    last_used_at  TIMESTAMP WITH TIME ZONE
);

CREATE INDEX api_keys_owner_idx ON api_keys (tenant_id, owner_subject, created_at);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at);
