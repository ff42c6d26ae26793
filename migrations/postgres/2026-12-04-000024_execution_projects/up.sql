-- The projects an execution's `project.*` steps created or changed (JSON array of ids): the
-- run shows their data, so reading it takes reading each of them (crates/workflow/src/subject.rs).
ALTER TABLE workflow_executions ADD COLUMN projects JSONB NOT NULL DEFAULT '[]';
-- Executions from before: the projects their succeeded project steps returned.
UPDATE workflow_executions AS e
SET projects = touched.ids
FROM (
    SELECT execution_id, jsonb_agg(DISTINCT output ->> 'id') AS ids
    FROM workflow_step_runs
    WHERE kind LIKE 'project.%' AND status = 'succeeded' AND output ->> 'id' IS NOT NULL
    GROUP BY execution_id
) AS touched
WHERE e.id = touched.execution_id;
