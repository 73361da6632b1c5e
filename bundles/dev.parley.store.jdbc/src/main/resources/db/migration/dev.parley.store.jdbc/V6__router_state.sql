-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- The model router's state, shared by every node on this database and read by each at start and every few seconds.
-- Which provider id claimed each bare model id: requests for that id go there until an admin moves the claim.
CREATE TABLE router_claims (
    model_id    VARCHAR(300) PRIMARY KEY,
    provider_id VARCHAR(200) NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Aliases an admin defined through /api/v1/admin/models; they win over configured aliases of the same name.
CREATE TABLE router_aliases (
    name        VARCHAR(100) PRIMARY KEY,
    definition  TEXT NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
