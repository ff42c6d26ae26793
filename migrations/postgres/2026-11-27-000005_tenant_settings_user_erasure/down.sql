DROP INDEX users_tenant_listing;
ALTER TABLE users DROP COLUMN deleted_at;
ALTER TABLE tenants DROP COLUMN settings;
