-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- Nearly every request is tried once, at the target that then answers or fails it: that one attempt is the record's
-- own provider, model and error code, and only its duration is new. Kept here, it saves a second row, its index entry
-- and its foreign-key check per request. Null when the attempts are rows of usage_attempts (retries, fallbacks, and
-- every record stored before this migration).
ALTER TABLE usage_records ADD COLUMN single_attempt_ms BIGINT;
