-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- Provider instances a tenant owns (its own key, its own models; ADR 26). Every node's plugin runtime applies each row
-- as a factory configuration of the plugin; secret settings (keys starting with a dot) are sealed with the tenant,
-- the instance and the key in the associated data, so a value copied to another row does not open.
CREATE TABLE tenant_providers (
    tenant_id   VARCHAR(64)  NOT NULL,
    name        VARCHAR(32)  NOT NULL,
    plugin_id   VARCHAR(200) NOT NULL,
    factory_pid VARCHAR(200) NOT NULL,
    config      TEXT         NOT NULL,
    generation  BIGINT       NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_by  VARCHAR(200) NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
