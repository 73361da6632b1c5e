-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- Browser sign-ins through an OIDC issuer that were started and not yet finished, shared by every node (the issuer
-- may send the browser back to another node than the one that started it). A row is deleted when its callback comes
-- (single use) or, past expires_at, by the next sign-in that starts. The state and the browser's binding cookie are
-- kept as their SHA-256 only; the PKCE verifier and the nonce are sealed with the master key.
CREATE TABLE oidc_pending_logins (
    state_hash    VARCHAR(64) PRIMARY KEY,
    issuer_name   VARCHAR(64) NOT NULL,
    browser_hash  VARCHAR(64) NOT NULL,
    sealed        VARCHAR(1024) NOT NULL,
    redirect_uri  VARCHAR(2048) NOT NULL,
    client_state  VARCHAR(512),
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at    TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE INDEX oidc_pending_logins_expires_idx ON oidc_pending_logins (expires_at);
CREATE INDEX oidc_pending_logins_issuer_idx ON oidc_pending_logins (issuer_name);
