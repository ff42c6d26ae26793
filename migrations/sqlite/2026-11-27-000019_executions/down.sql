DROP TABLE workflow_timeline;
DROP TABLE workflow_step_runs;
DROP TABLE workflow_executions;
