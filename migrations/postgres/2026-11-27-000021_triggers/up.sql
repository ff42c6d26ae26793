-- Workflow triggers (DESIGN.md section 7): the current version's event and schedule
-- triggers, replaced on every save, so the trigger loop finds what an event starts and which
-- schedule is due without reading definitions.
CREATE TABLE workflow_triggers (
    workflow_id uuid NOT NULL REFERENCES workflows (id),
    position INTEGER NOT NULL,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    kind TEXT NOT NULL CHECK (kind IN ('event', 'schedule')),
    event TEXT,
    next_fire_at timestamptz,
    PRIMARY KEY (workflow_id, position)
);
CREATE INDEX workflow_triggers_by_event ON workflow_triggers (tenant_id, event) WHERE kind = 'event';
CREATE INDEX workflow_triggers_due ON workflow_triggers (next_fire_at) WHERE kind = 'schedule';

-- What triggers started, by key (`event:<event id>`, `schedule:<tick>`): a repeated start
-- (a crash between start and mark, another replica) finds its key and starts nothing.
CREATE TABLE workflow_trigger_starts (
    workflow_id uuid NOT NULL REFERENCES workflows (id),
    key TEXT NOT NULL,
    execution_id uuid NOT NULL,
    PRIMARY KEY (workflow_id, key)
);

-- The triggers' own mark on the outbox, beside the relay's: each consumer takes every event.
ALTER TABLE outbox_events ADD COLUMN triggered_at timestamptz;
CREATE INDEX outbox_events_untriggered ON outbox_events (id) WHERE triggered_at IS NULL;
