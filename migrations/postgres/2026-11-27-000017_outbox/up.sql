-- The transactional outbox: domain events written in the transaction of the change they
-- announce, relayed afterwards (relayed_at set when a relay took them), so an event is never
-- lost with a crash and never announced for a change that rolled back.
CREATE TABLE outbox_events (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    kind text NOT NULL,
    occurred_at timestamptz NOT NULL,
    actor_id uuid,
    payload text NOT NULL,
    relayed_at timestamptz
);
CREATE INDEX outbox_events_pending ON outbox_events (id) WHERE relayed_at IS NULL;
