-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- The node that streams an answer, so that crash recovery at a node's start touches only its own answers, never
-- those another node sharing the database is streaming. NULL on rows written before this column existed.
ALTER TABLE messages ADD COLUMN node_id VARCHAR(200);
