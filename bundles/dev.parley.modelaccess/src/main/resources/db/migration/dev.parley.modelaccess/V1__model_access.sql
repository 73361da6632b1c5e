-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- Which tenants may use a plugin (the operator decides). A plugin without a row is available to every tenant.
-- restricted: only the tenants listed with allowed = TRUE may use it; otherwise every tenant but those listed with
-- allowed = FALSE.
CREATE TABLE model_access_plugins (
    plugin_id   VARCHAR(200) PRIMARY KEY,
    restricted  BOOLEAN NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_by  VARCHAR(200) NOT NULL
);

CREATE TABLE model_access_plugin_tenants (
    plugin_id   VARCHAR(200) NOT NULL REFERENCES model_access_plugins (plugin_id) ON DELETE CASCADE,
    tenant_id   VARCHAR(64) NOT NULL,
    allowed     BOOLEAN NOT NULL,
    PRIMARY KEY (plugin_id, tenant_id)
);

-- Each tenant's models (its admin decides): the default for models it did not name, and one row per model id,
-- provider/model or alias it named. A tenant without rows may use every model its plugins offer.
CREATE TABLE model_access_tenants (
    tenant_id        VARCHAR(64) PRIMARY KEY,
    default_enabled  BOOLEAN NOT NULL,
    updated_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_by       VARCHAR(200) NOT NULL
);

CREATE TABLE model_access_tenant_models (
    tenant_id   VARCHAR(64) NOT NULL REFERENCES model_access_tenants (tenant_id) ON DELETE CASCADE,
    model_id    VARCHAR(300) NOT NULL,
    enabled     BOOLEAN NOT NULL,
    PRIMARY KEY (tenant_id, model_id)
);
