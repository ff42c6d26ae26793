DROP INDEX outbox_events_untriggered;
ALTER TABLE outbox_events DROP COLUMN triggered_at;
DROP TABLE workflow_trigger_starts;
DROP TABLE workflow_triggers;
