-- The transactional outbox: domain events written in the transaction of the change they
-- announce, relayed afterwards (relayed_at set when a relay took them), so an event is never
-- lost with a crash and never announced for a change that rolled back.
CREATE TABLE outbox_events (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    kind TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    actor_id TEXT,
    payload TEXT NOT NULL,
    relayed_at TEXT
);
CREATE INDEX outbox_events_pending ON outbox_events (id) WHERE relayed_at IS NULL;
