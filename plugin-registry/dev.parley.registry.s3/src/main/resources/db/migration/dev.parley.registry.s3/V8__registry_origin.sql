-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- How a version entered the registry: 'published' (a signed upload) or 'distribution' (shipped inside the server,
-- stored without a signature; ADR 11).
ALTER TABLE registry_entries ADD COLUMN origin VARCHAR(32) DEFAULT 'published' NOT NULL;
ALTER TABLE registry_entries ALTER COLUMN signature DROP NOT NULL;
