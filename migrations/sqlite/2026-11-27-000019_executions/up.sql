-- Executions and their step runs as rows (docs/design.md section 7): the engine's whole state is
-- here, so a killed process loses nothing. Workers claim `ready` steps (and steps whose lease
-- or timer ran out) by `ready_at`; every status change is also a timeline row.
CREATE TABLE workflow_executions (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    workflow_id TEXT NOT NULL REFERENCES workflows (id),
    version BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'waiting', 'succeeded', 'failed', 'cancelled')),
    inputs TEXT NOT NULL,
    output TEXT,
    error TEXT,
    trigger TEXT NOT NULL,
    started_by TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    deadline TEXT
);
CREATE INDEX workflow_executions_by_workflow ON workflow_executions (tenant_id, workflow_id, id);
CREATE INDEX workflow_executions_live ON workflow_executions (workflow_id, status)
    WHERE status IN ('pending', 'running', 'waiting');

CREATE TABLE workflow_step_runs (
    execution_id TEXT NOT NULL REFERENCES workflow_executions (id),
    step_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'running', 'waiting', 'succeeded', 'failed', 'skipped', 'cancelled')),
    attempts INTEGER NOT NULL,
    output TEXT,
    error TEXT,
    skip TEXT,
    state TEXT,
    ready_at TEXT,
    lease_owner TEXT,
    lease_until TEXT,
    started_at TEXT,
    finished_at TEXT,
    PRIMARY KEY (execution_id, step_id)
);
-- What workers claim: ready steps and timers by when they are due, running steps by lease.
CREATE INDEX workflow_step_runs_due ON workflow_step_runs (ready_at)
    WHERE status IN ('ready', 'waiting');
CREATE INDEX workflow_step_runs_leased ON workflow_step_runs (lease_until)
    WHERE status = 'running';

CREATE TABLE workflow_timeline (
    id TEXT PRIMARY KEY NOT NULL,
    execution_id TEXT NOT NULL REFERENCES workflow_executions (id),
    at TEXT NOT NULL,
    step_id TEXT,
    status TEXT NOT NULL,
    attempt INTEGER,
    detail TEXT
);
CREATE INDEX workflow_timeline_by_execution ON workflow_timeline (execution_id, id);
