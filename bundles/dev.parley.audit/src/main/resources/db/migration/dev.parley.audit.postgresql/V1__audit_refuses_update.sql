-- PostgreSQL only (applied after dev.parley.audit V1 when the database is PostgreSQL): a second line behind the
-- application, which issues no UPDATE on parley_audit. Any UPDATE of a row is refused, whoever sends it.
-- The function body is on one line: the migrator splits statements at a ';' that ends a line.
CREATE FUNCTION parley_audit_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'parley_audit is append-only: rows are never updated' USING ERRCODE = 'insufficient_privilege'; END $$;

CREATE TRIGGER parley_audit_no_update BEFORE UPDATE ON parley_audit FOR EACH ROW EXECUTE FUNCTION parley_audit_refuse_update();
