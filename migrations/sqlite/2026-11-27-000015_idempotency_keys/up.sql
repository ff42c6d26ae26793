-- Idempotency-Key: what a key already did, written in the transaction of the change it made,
-- so a retried request finds it and never does the work twice. Keys are per caller and per
-- operation (`scope`) and are kept for 24 hours.
CREATE TABLE idempotency_keys (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (tenant_id, created_at);
