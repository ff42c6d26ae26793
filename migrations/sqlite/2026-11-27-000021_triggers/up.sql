-- Workflow triggers (docs/design.md section 7): the current version's event and schedule
-- triggers, replaced on every save, so the trigger loop finds what an event starts and which
-- schedule is due without reading definitions. `active_since`: events from before it (made
-- while the workflow did not exist, had no such trigger, or was paused) start nothing.
CREATE TABLE workflow_triggers (
    workflow_id TEXT NOT NULL REFERENCES workflows (id),
    position INTEGER NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    kind TEXT NOT NULL CHECK (kind IN ('event', 'schedule')),
    event TEXT,
    next_fire_at TEXT,
    active_since TEXT NOT NULL,
    PRIMARY KEY (workflow_id, position)
);
CREATE INDEX workflow_triggers_by_event ON workflow_triggers (tenant_id, event) WHERE kind = 'event';
CREATE INDEX workflow_triggers_due ON workflow_triggers (next_fire_at) WHERE kind = 'schedule';

-- Workflows saved before triggers fired: index their current version's triggers (times in
-- the stores' text form).
INSERT INTO workflow_triggers (workflow_id, position, tenant_id, kind, event, next_fire_at, active_since)
SELECT w.id, CAST(t.key AS INTEGER), w.tenant_id, json_extract(t.value, '$.type'),
       json_extract(t.value, '$.event'), NULL, strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')
FROM workflows w
JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.version,
     json_each(v.definition, '$.triggers') AS t
WHERE w.deleted_at IS NULL AND json_extract(t.value, '$.type') IN ('event', 'schedule');

-- What triggers started, by key (`event:<event id>`, `schedule:<position>:<tick>`): a
-- repeated start (two replicas on the same event) finds its key and starts nothing.
CREATE TABLE workflow_trigger_starts (
    workflow_id TEXT NOT NULL REFERENCES workflows (id),
    key TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    PRIMARY KEY (workflow_id, key)
);

-- The triggers' own mark on the outbox, beside the relay's: each consumer takes every event.
-- Events from before this migration are history, not work.
ALTER TABLE outbox_events ADD COLUMN triggered_at TEXT;
UPDATE outbox_events SET triggered_at = COALESCE(relayed_at, occurred_at);
CREATE INDEX outbox_events_untriggered ON outbox_events (id) WHERE triggered_at IS NULL;
