-- Tenant identity settings (one JSON document; missing keys take their defaults) and user
-- erasure: a deleted user keeps its row and id for history, with personal data removed.
ALTER TABLE tenants ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN deleted_at TEXT;
CREATE INDEX users_tenant_listing ON users (tenant_id, id) WHERE deleted_at IS NULL;
