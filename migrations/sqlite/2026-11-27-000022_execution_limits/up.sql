-- Execution timeouts and concurrency limits: an execution's group under the definition's
-- `concurrency` (the evaluated key) and limit, and whether it waits for a slot (its ready
-- steps held without `ready_at` until an execution of the group ends).
ALTER TABLE workflow_executions ADD COLUMN concurrency_key TEXT;
ALTER TABLE workflow_executions ADD COLUMN concurrency_limit INTEGER;
ALTER TABLE workflow_executions ADD COLUMN queued INTEGER NOT NULL DEFAULT 0;
-- Counting a group's running executions; finding its oldest queued one.
CREATE INDEX workflow_executions_by_group ON workflow_executions (workflow_id, concurrency_key, queued, id)
    WHERE status IN ('pending', 'running', 'waiting');
-- Live executions by deadline, for timing them out.
CREATE INDEX workflow_executions_deadline ON workflow_executions (deadline)
    WHERE status IN ('pending', 'running', 'waiting') AND deadline IS NOT NULL;
