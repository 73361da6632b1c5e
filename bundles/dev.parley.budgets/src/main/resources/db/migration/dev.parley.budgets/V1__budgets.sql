-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- Budgets: limits per scope (the tenant, a user of it, an API key of it) and period (day or month, UTC).
-- scope_id is '' for the tenant, the subject for a user, the credential id for a key. A null limit is no limit.
CREATE TABLE budgets (
    budget_id      VARCHAR(36) PRIMARY KEY,
    tenant_id      VARCHAR(200) NOT NULL,
    scope_kind     VARCHAR(10) NOT NULL,
    scope_id       VARCHAR(200) NOT NULL,
    budget_period  VARCHAR(10) NOT NULL,
    max_requests   BIGINT,
    max_tokens     BIGINT,
    max_cost_usd   DECIMAL(20, 6),
    updated_at     TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_by     VARCHAR(200) NOT NULL,
    CONSTRAINT budgets_scope_uq UNIQUE (tenant_id, scope_kind, scope_id, budget_period)
);

-- What each scope spent in each period: requests and tokens reserved (estimates until settled), cost settled.
-- Kept per scope, not per budget: replacing a budget keeps what was spent.
CREATE TABLE budget_spend (
    tenant_id      VARCHAR(200) NOT NULL,
    scope_kind     VARCHAR(10) NOT NULL,
    scope_id       VARCHAR(200) NOT NULL,
    budget_period  VARCHAR(10) NOT NULL,
    period_start   TIMESTAMP WITH TIME ZONE NOT NULL,
    requests       BIGINT NOT NULL,
    tokens         BIGINT NOT NULL,
    cost_usd       DECIMAL(24, 10) NOT NULL,
    PRIMARY KEY (tenant_id, scope_kind, scope_id, budget_period, period_start)
);
