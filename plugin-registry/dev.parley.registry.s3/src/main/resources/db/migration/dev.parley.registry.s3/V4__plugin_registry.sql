-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- Registry metadata for the production storage (artifacts live in S3-compatible object storage).
CREATE TABLE registry_entries (
    plugin_id     VARCHAR(200) NOT NULL,
    version       VARCHAR(100) NOT NULL,
    symbolic_name VARCHAR(255) NOT NULL,
    plugin_type   VARCHAR(32) NOT NULL,
    display_name  VARCHAR(255),
    description   TEXT,
    publisher     VARCHAR(200) NOT NULL,
    channel       VARCHAR(32) NOT NULL,
    yanked        BOOLEAN NOT NULL,
    yank_reason   TEXT,
    api_imports   TEXT NOT NULL,
    api_range     VARCHAR(100),
    permissions   TEXT NOT NULL,
    sha256        VARCHAR(64) NOT NULL,
    size_bytes    BIGINT NOT NULL,
    signature     TEXT NOT NULL,
    published_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT registry_entries_pk PRIMARY KEY (plugin_id, version)
);

CREATE TABLE registry_publishers (
    publisher_id VARCHAR(200) PRIMARY KEY,
    public_key   TEXT NOT NULL,
    added_at     TIMESTAMP WITH TIME ZONE NOT NULL
);
