-- Projects (names unique case-insensitively among a tenant's live projects), their members
-- with project roles, and their version history (one full snapshot per change).
CREATE TABLE projects (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    name text NOT NULL,
    name_key text NOT NULL,
    slug text NOT NULL,
    description text NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'archived')),
    visibility text NOT NULL CHECK (visibility IN ('private', 'tenant')),
    tags jsonb NOT NULL,
    settings jsonb NOT NULL,
    owner_id uuid NOT NULL REFERENCES users (id),
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    archived_at timestamptz,
    deleted_at timestamptz
);
CREATE UNIQUE INDEX projects_live_name ON projects (tenant_id, name_key) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX projects_live_slug ON projects (tenant_id, slug) WHERE deleted_at IS NULL;
CREATE INDEX projects_live ON projects (tenant_id, id) WHERE deleted_at IS NULL;

CREATE TABLE project_members (
    project_id uuid NOT NULL REFERENCES projects (id),
    user_id uuid NOT NULL REFERENCES users (id),
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    role text NOT NULL CHECK (role IN ('owner', 'maintainer', 'editor', 'viewer')),
    added_at timestamptz NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_by_user ON project_members (tenant_id, user_id);

CREATE TABLE project_versions (
    project_id uuid NOT NULL REFERENCES projects (id),
    version bigint NOT NULL,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    snapshot jsonb NOT NULL,
    changed jsonb NOT NULL,
    actor_id uuid,
    at timestamptz NOT NULL,
    PRIMARY KEY (project_id, version)
);
