-- PostgreSQL only (applied after dev.parley.budgets V1 when the database is PostgreSQL; H2 has no row-level
-- security). A second line behind the tenant_id every per-tenant statement of the budgets names (ADR 24): inside a
-- transaction that set parley.tenant (Database.inTenantTransaction) these tables show and accept that tenant's rows
-- only; a transaction that set nothing (the spend purge, platform work) sees every row.
-- FORCE: Parley connects as the tables' owner, whom row-level security otherwise exempts.
-- Each statement is on one line: the migrator splits statements at a ';' that ends a line.
ALTER TABLE budgets ENABLE ROW LEVEL SECURITY;
ALTER TABLE budgets FORCE ROW LEVEL SECURITY;
CREATE POLICY budgets_of_the_tenant ON budgets USING (COALESCE(current_setting('parley.tenant', true), '') = '' OR tenant_id = current_setting('parley.tenant', true)) WITH CHECK (COALESCE(current_setting('parley.tenant', true), '') = '' OR tenant_id = current_setting('parley.tenant', true));

ALTER TABLE budget_spend ENABLE ROW LEVEL SECURITY;
ALTER TABLE budget_spend FORCE ROW LEVEL SECURITY;
CREATE POLICY budget_spend_of_the_tenant ON budget_spend USING (COALESCE(current_setting('parley.tenant', true), '') = '' OR tenant_id = current_setting('parley.tenant', true)) WITH CHECK (COALESCE(current_setting('parley.tenant', true), '') = '' OR tenant_id = current_setting('parley.tenant', true));
