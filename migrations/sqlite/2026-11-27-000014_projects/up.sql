-- Projects (names unique case-insensitively among a tenant's live projects), their members
-- with project roles, and their version history (one full snapshot per change).
CREATE TABLE projects (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    slug TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'archived')),
    visibility TEXT NOT NULL CHECK (visibility IN ('private', 'tenant')),
    tags TEXT NOT NULL,
    settings TEXT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users (id),
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    archived_at TEXT,
    deleted_at TEXT
);
CREATE UNIQUE INDEX projects_live_name ON projects (tenant_id, name_key) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX projects_live_slug ON projects (tenant_id, slug) WHERE deleted_at IS NULL;
CREATE INDEX projects_live ON projects (tenant_id, id) WHERE deleted_at IS NULL;

CREATE TABLE project_members (
    project_id TEXT NOT NULL REFERENCES projects (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'maintainer', 'editor', 'viewer')),
    added_at TEXT NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_by_user ON project_members (tenant_id, user_id);

CREATE TABLE project_versions (
    project_id TEXT NOT NULL REFERENCES projects (id),
    version BIGINT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    snapshot TEXT NOT NULL,
    changed TEXT NOT NULL,
    actor_id TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (project_id, version)
);
