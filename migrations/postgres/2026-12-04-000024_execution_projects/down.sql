ALTER TABLE workflow_executions DROP COLUMN projects;
