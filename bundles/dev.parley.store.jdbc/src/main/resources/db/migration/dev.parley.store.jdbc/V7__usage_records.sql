-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- One row per model request. No foreign key to conversations: usage outlives a deleted conversation (billing, quotas).
CREATE TABLE usage_records (
    id                   VARCHAR(64) PRIMARY KEY,
    created_at           TIMESTAMP WITH TIME ZONE NOT NULL,
    tenant_id            VARCHAR(200),
    user_id              VARCHAR(200),
    endpoint             VARCHAR(32) NOT NULL,
    conversation_id      VARCHAR(64),
    message_id           VARCHAR(64),
    requested_model      VARCHAR(400),
    provider_id          VARCHAR(200),
    model                VARCHAR(200),
    outcome              VARCHAR(16) NOT NULL,
    error_code           VARCHAR(64),
    prompt_tokens        INTEGER NOT NULL,
    completion_tokens    INTEGER NOT NULL,
    cached_prompt_tokens INTEGER NOT NULL,
    cost_usd             NUMERIC(24, 12),
    latency_ms           BIGINT NOT NULL,
    ttft_ms              BIGINT
);

CREATE INDEX usage_records_created_idx ON usage_records (created_at);
CREATE INDEX usage_records_conversation_idx ON usage_records (conversation_id);

-- Every try of a request at one target, in order.
CREATE TABLE usage_attempts (
    record_id   VARCHAR(64) NOT NULL REFERENCES usage_records (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    provider_id VARCHAR(200) NOT NULL,
    model       VARCHAR(200) NOT NULL,
    error_code  VARCHAR(64),
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (record_id, seq)
);
