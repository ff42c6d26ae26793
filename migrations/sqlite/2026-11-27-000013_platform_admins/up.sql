-- Holders of the platform grant (tenants:manage), kept apart from tenant roles.
CREATE TABLE platform_admins (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    granted_at TEXT NOT NULL
);
