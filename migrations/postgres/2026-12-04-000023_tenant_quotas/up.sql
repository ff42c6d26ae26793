-- Per-tenant quotas the platform set (NULL: the default; usvc_core::quota, docs/security.md).
CREATE TABLE tenant_quotas (
    tenant_id uuid PRIMARY KEY NOT NULL REFERENCES tenants (id),
    running_executions INTEGER,
    steps_in_flight INTEGER,
    starts_per_minute INTEGER,
    starts_per_event INTEGER,
    definition_steps INTEGER,
    step_timeout_secs BIGINT,
    event_steps INTEGER,
    updated_at timestamptz NOT NULL
);
-- Counting a tenant's live executions (the running_executions quota).
CREATE INDEX workflow_executions_live_by_tenant ON workflow_executions (tenant_id)
    WHERE status IN ('pending', 'running', 'waiting');
