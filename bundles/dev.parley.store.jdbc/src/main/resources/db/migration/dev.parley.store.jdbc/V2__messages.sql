-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
CREATE TABLE messages (
    id                VARCHAR(64) PRIMARY KEY,
    conversation_id   VARCHAR(64) NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq               BIGINT NOT NULL,
    role              VARCHAR(16) NOT NULL,
    content           TEXT NOT NULL,
    status            VARCHAR(16) NOT NULL,
    model             VARCHAR(200),
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    error             TEXT,
    latency_ms        BIGINT,
    ttft_ms           BIGINT,
    created_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT messages_conversation_seq_uq UNIQUE (conversation_id, seq)
);

CREATE INDEX messages_status_idx ON messages (status);
