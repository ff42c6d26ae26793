-- Workflow definitions: one row per workflow (status, current version) and one per saved
-- version (the whole definition document). Executions pin a version, so versions are never
-- changed or removed; deleting a workflow only marks it.
CREATE TABLE workflows (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'paused')),
    version BIGINT NOT NULL,
    created_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX workflows_live ON workflows (tenant_id, id) WHERE deleted_at IS NULL;

CREATE TABLE workflow_versions (
    workflow_id TEXT NOT NULL REFERENCES workflows (id),
    version BIGINT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    definition TEXT NOT NULL,
    created_by TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workflow_id, version)
);
