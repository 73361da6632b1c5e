-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- Tenants: everything a user does is scoped to one. "default" is the operator's tenant.
CREATE TABLE identity_tenants (
    id          VARCHAR(64) PRIMARY KEY,
    name        VARCHAR(200) NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Users of the built-in sign-in. Usernames are unique per tenant (kept in lower case); the password is an Argon2id
-- PHC string carrying its own parameters; roles are role slugs separated by commas.
CREATE TABLE identity_users (
    id                  VARCHAR(36) PRIMARY KEY,
    tenant_id           VARCHAR(64) NOT NULL REFERENCES identity_tenants (id),
    username            VARCHAR(128) NOT NULL,
    password_hash       VARCHAR(512) NOT NULL,
    roles               VARCHAR(256) NOT NULL,
    failed_attempts     INTEGER NOT NULL,
    locked_until        TIMESTAMP WITH TIME ZONE,
    disabled            BOOLEAN NOT NULL,
    created_at          TIMESTAMP WITH TIME ZONE NOT NULL,
    password_changed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT identity_users_tenant_username UNIQUE (tenant_id, username)
);

-- Sign-in sessions: one row per refresh token (stored as its SHA-256), chained by family. A used token names the one
-- that replaced it; presenting a used one again revokes the family. Rows outlive their users' deletion on purpose:
-- a revoked family must stay known until its last access token has expired.
CREATE TABLE identity_sessions (
    token_hash   VARCHAR(64) PRIMARY KEY,
    family_id    VARCHAR(36) NOT NULL,
    user_id      VARCHAR(36) NOT NULL,
    tenant_id    VARCHAR(64) NOT NULL,
    issued_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    used_at      TIMESTAMP WITH TIME ZONE,
    revoked_at   TIMESTAMP WITH TIME ZONE,
    replaced_by  VARCHAR(64)
);

CREATE INDEX identity_sessions_family_idx ON identity_sessions (family_id);
CREATE INDEX identity_sessions_user_idx ON identity_sessions (user_id);
CREATE INDEX identity_sessions_revoked_idx ON identity_sessions (revoked_at);
CREATE INDEX identity_sessions_expires_idx ON identity_sessions (expires_at);

-- The keys that sign access tokens, shared by every node: the private key as a JWK, sealed with the master key. The
-- newest key not retired signs; a retired key still verifies until the tokens it signed have expired.
CREATE TABLE identity_signing_keys (
    kid          VARCHAR(64) PRIMARY KEY,
    private_jwk  TEXT NOT NULL,
    created_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    retired_at   TIMESTAMP WITH TIME ZONE
);
