-- The projects an execution's `project.*` steps created or changed (JSON array of ids): the
-- run shows their data, so reading it takes reading each of them (crates/workflow/src/subject.rs).
ALTER TABLE workflow_executions ADD COLUMN projects TEXT NOT NULL DEFAULT '[]';
-- Executions from before: the projects their succeeded project steps returned.
UPDATE workflow_executions
SET projects = (
    SELECT json_group_array(DISTINCT json_extract(s.output, '$.id'))
    FROM workflow_step_runs AS s
    WHERE s.execution_id = workflow_executions.id
      AND s.kind LIKE 'project.%' AND s.status = 'succeeded'
      AND json_extract(s.output, '$.id') IS NOT NULL
)
WHERE id IN (
    SELECT execution_id FROM workflow_step_runs
    WHERE kind LIKE 'project.%' AND status = 'succeeded'
      AND json_extract(output, '$.id') IS NOT NULL
);
