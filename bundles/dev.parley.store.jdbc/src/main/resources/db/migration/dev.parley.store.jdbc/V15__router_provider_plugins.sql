-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- Which plugin each provider id belongs to (ADR 29): the first plugin whose bundle registered a provider with that id.
-- A registration of the id from another plugin is not used while the row stands; the row goes when that plugin is
-- uninstalled. Shared by every node and kept across restarts, so the order plugins start in changes nothing.
CREATE TABLE router_provider_plugins (
    provider_id VARCHAR(200) PRIMARY KEY,
    plugin_id   VARCHAR(300) NOT NULL,
    bound_at    TIMESTAMP WITH TIME ZONE NOT NULL
);
