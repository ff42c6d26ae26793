-- The projects an execution's `project.*` steps created or changed (JSON array of ids): the
-- run shows their data, so reading it takes reading each of them (crates/workflow/src/subject.rs).
ALTER TABLE workflow_executions ADD COLUMN projects TEXT NOT NULL DEFAULT '[]';
