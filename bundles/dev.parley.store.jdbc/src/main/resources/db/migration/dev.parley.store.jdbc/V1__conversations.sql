-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- Never edit a file once released; add a new version instead (the checksum is verified at start-up).
CREATE TABLE conversations (
    id            VARCHAR(64) PRIMARY KEY,
    title         TEXT,
    model         VARCHAR(200),
    system_prompt TEXT,
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at    TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE INDEX conversations_updated_idx ON conversations (updated_at DESC, id DESC);
