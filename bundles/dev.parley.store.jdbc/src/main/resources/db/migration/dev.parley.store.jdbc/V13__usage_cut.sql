-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- A stream cut (cancelled, failed, client gone) after its answer began and before the provider reported usage: its
-- tokens are what Parley counted of what arrived, as the caller's budgets counted them.
ALTER TABLE usage_records ADD COLUMN cut BOOLEAN DEFAULT FALSE NOT NULL;
