-- Workflow triggers (docs/design.md section 7): the current version's event and schedule
-- triggers, replaced on every save, so the trigger loop finds what an event starts and which
-- schedule is due without reading definitions. `active_since`: events from before it (made
-- while the workflow did not exist, had no such trigger, or was paused) start nothing.
CREATE TABLE workflow_triggers (
    workflow_id uuid NOT NULL REFERENCES workflows (id),
    position INTEGER NOT NULL,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    kind TEXT NOT NULL CHECK (kind IN ('event', 'schedule')),
    event TEXT,
    next_fire_at timestamptz,
    active_since timestamptz NOT NULL,
    PRIMARY KEY (workflow_id, position)
);
CREATE INDEX workflow_triggers_by_event ON workflow_triggers (tenant_id, event) WHERE kind = 'event';
CREATE INDEX workflow_triggers_due ON workflow_triggers (next_fire_at) WHERE kind = 'schedule';

-- Workflows saved before triggers fired: index their current version's triggers.
INSERT INTO workflow_triggers (workflow_id, position, tenant_id, kind, event, next_fire_at, active_since)
SELECT w.id, (t.ordinality - 1)::integer, w.tenant_id, t.value ->> 'type', t.value ->> 'event', NULL, now()
FROM workflows w
JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.version
CROSS JOIN LATERAL jsonb_array_elements(COALESCE(v.definition -> 'triggers', '[]'::jsonb))
    WITH ORDINALITY AS t (value, ordinality)
WHERE w.deleted_at IS NULL AND t.value ->> 'type' IN ('event', 'schedule');

-- What triggers started, by key (`event:<event id>`, `schedule:<position>:<tick>`): a
-- repeated start (two replicas on the same event) finds its key and starts nothing.
CREATE TABLE workflow_trigger_starts (
    workflow_id uuid NOT NULL REFERENCES workflows (id),
    key TEXT NOT NULL,
    execution_id uuid NOT NULL,
    PRIMARY KEY (workflow_id, key)
);

-- The triggers' own mark on the outbox, beside the relay's: each consumer takes every event.
-- Events from before this migration are history, not work.
ALTER TABLE outbox_events ADD COLUMN triggered_at timestamptz;
UPDATE outbox_events SET triggered_at = COALESCE(relayed_at, occurred_at);
CREATE INDEX outbox_events_untriggered ON outbox_events (id) WHERE triggered_at IS NULL;
