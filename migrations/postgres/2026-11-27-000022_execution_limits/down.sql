DROP INDEX workflow_executions_deadline;
DROP INDEX workflow_executions_by_group;
ALTER TABLE workflow_executions DROP COLUMN queued;
ALTER TABLE workflow_executions DROP COLUMN concurrency_limit;
ALTER TABLE workflow_executions DROP COLUMN concurrency_key;
