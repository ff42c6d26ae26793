-- Holders of the platform grant (tenants:manage), kept apart from tenant roles.
CREATE TABLE platform_admins (
    user_id uuid PRIMARY KEY REFERENCES users (id),
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    granted_at timestamptz NOT NULL
);
