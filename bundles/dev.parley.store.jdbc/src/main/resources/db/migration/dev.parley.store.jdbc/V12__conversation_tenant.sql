-- Every conversation belongs to one tenant; conversations from before tenants belong to the operator's ("default").
-- Messages belong to their conversation's tenant: every query of them goes through the conversation.
ALTER TABLE conversations ADD COLUMN tenant_id VARCHAR(100) DEFAULT 'default' NOT NULL;
CREATE INDEX conversations_tenant_updated ON conversations (tenant_id, updated_at, id);
