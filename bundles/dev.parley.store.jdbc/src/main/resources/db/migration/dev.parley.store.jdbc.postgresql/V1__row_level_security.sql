-- PostgreSQL only (applied after dev.parley.store.jdbc's own migrations when the database is PostgreSQL; H2 has no
-- row-level security). A second line behind the tenant_id every tenant-scoped statement names (ADR 24): inside a
-- transaction that set parley.tenant (Database.inTenantTransaction), these tables show and accept that tenant's rows
-- only. A transaction that set nothing (platform work: crash recovery, usage batches, retention) sees every row: the
-- setting is absent (NULL) or, once a transaction of this session set and ended it, empty.
-- FORCE: Parley connects as the tables' owner, whom row-level security otherwise exempts. Superusers and roles with
-- BYPASSRLS are exempt whatever is forced; the store logs a warning when it runs as one.
-- Each statement is on one line: the migrator splits statements at a ';' that ends a line.
ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE conversations FORCE ROW LEVEL SECURITY;
CREATE POLICY conversations_of_the_tenant ON conversations USING (COALESCE(current_setting('parley.tenant', true), '') = '' OR tenant_id = current_setting('parley.tenant', true)) WITH CHECK (COALESCE(current_setting('parley.tenant', true), '') = '' OR tenant_id = current_setting('parley.tenant', true));

-- Messages have no tenant column: they belong to their conversation's tenant.
ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE messages FORCE ROW LEVEL SECURITY;
CREATE POLICY messages_of_the_tenant ON messages USING (COALESCE(current_setting('parley.tenant', true), '') = '' OR EXISTS (SELECT 1 FROM conversations c WHERE c.id = messages.conversation_id AND c.tenant_id = current_setting('parley.tenant', true))) WITH CHECK (COALESCE(current_setting('parley.tenant', true), '') = '' OR EXISTS (SELECT 1 FROM conversations c WHERE c.id = messages.conversation_id AND c.tenant_id = current_setting('parley.tenant', true)));

ALTER TABLE usage_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_records FORCE ROW LEVEL SECURITY;
CREATE POLICY usage_records_of_the_tenant ON usage_records USING (COALESCE(current_setting('parley.tenant', true), '') = '' OR tenant_id = current_setting('parley.tenant', true)) WITH CHECK (COALESCE(current_setting('parley.tenant', true), '') = '' OR tenant_id = current_setting('parley.tenant', true));

ALTER TABLE usage_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_attempts FORCE ROW LEVEL SECURITY;
CREATE POLICY usage_attempts_of_the_tenant ON usage_attempts USING (COALESCE(current_setting('parley.tenant', true), '') = '' OR EXISTS (SELECT 1 FROM usage_records r WHERE r.id = usage_attempts.record_id AND r.tenant_id = current_setting('parley.tenant', true))) WITH CHECK (COALESCE(current_setting('parley.tenant', true), '') = '' OR EXISTS (SELECT 1 FROM usage_records r WHERE r.id = usage_attempts.record_id AND r.tenant_id = current_setting('parley.tenant', true)));
