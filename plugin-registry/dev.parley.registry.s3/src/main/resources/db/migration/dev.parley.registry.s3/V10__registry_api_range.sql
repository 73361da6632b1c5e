-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- A plugin's API range names every Parley API package it imports ("chat [1.3.0,2.0.0), embedding [1.0.0,2.0.0), ...");
-- 100 characters held four packages, and the OpenAI-compatible provider imports five: unbounded, like api_imports.
ALTER TABLE registry_entries ALTER COLUMN api_range SET DATA TYPE TEXT;
