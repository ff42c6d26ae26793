-- Workflow definitions: one row per workflow (status, current version) and one per saved
-- version (the whole definition document). Executions pin a version, so versions are never
-- changed or removed; deleting a workflow only marks it.
CREATE TABLE workflows (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    name text NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'paused')),
    version bigint NOT NULL,
    created_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz
);
CREATE INDEX workflows_live ON workflows (tenant_id, id) WHERE deleted_at IS NULL;

CREATE TABLE workflow_versions (
    workflow_id uuid NOT NULL REFERENCES workflows (id),
    version bigint NOT NULL,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    definition jsonb NOT NULL,
    created_by uuid,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workflow_id, version)
);
