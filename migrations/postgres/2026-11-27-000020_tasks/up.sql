-- Human tasks of `approval` steps: written with their execution in one transaction (the
-- task and its waiting step change together), read by assignees (`GET /api/v1/tasks`).
CREATE TABLE workflow_tasks (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    execution_id uuid NOT NULL REFERENCES workflow_executions (id),
    workflow_id uuid NOT NULL REFERENCES workflows (id),
    step_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'approved', 'rejected', 'cancelled')),
    assignee_user uuid,
    assignee_role TEXT,
    title TEXT NOT NULL,
    description TEXT,
    form jsonb,
    due_at timestamptz,
    data jsonb,
    completed_by uuid,
    completed_at timestamptz,
    created_at timestamptz NOT NULL,
    CHECK (assignee_user IS NOT NULL OR assignee_role IS NOT NULL)
);
-- "Mine": by user, by role; the tenant's listing; an execution's open tasks.
CREATE INDEX workflow_tasks_by_user ON workflow_tasks (tenant_id, assignee_user, status, id);
CREATE INDEX workflow_tasks_by_role ON workflow_tasks (tenant_id, assignee_role, status, id);
CREATE INDEX workflow_tasks_by_tenant ON workflow_tasks (tenant_id, status, id);
CREATE INDEX workflow_tasks_open_by_execution ON workflow_tasks (execution_id) WHERE status = 'open';
