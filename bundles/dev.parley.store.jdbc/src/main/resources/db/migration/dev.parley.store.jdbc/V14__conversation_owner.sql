-- Every conversation made from now on has an owner: the subject of the caller that created it. Conversations from
-- before have none (NULL) and stay visible to every member of their tenant; an owner's view shows its own and those.
ALTER TABLE conversations ADD COLUMN owner_subject VARCHAR(255);
CREATE INDEX conversations_tenant_owner_updated ON conversations (tenant_id, owner_subject, updated_at, id);
