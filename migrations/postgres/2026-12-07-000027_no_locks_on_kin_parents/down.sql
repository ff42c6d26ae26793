-- NOT VALID: new rows are checked at once; a row written while the keys were off does not
-- refuse the rollback (ADR 0032).
ALTER TABLE refresh_tokens ADD CONSTRAINT refresh_tokens_session_id_fkey FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE project_members ADD CONSTRAINT project_members_project_id_fkey FOREIGN KEY (project_id) REFERENCES projects (id) NOT VALID;
ALTER TABLE project_versions ADD CONSTRAINT project_versions_project_id_fkey FOREIGN KEY (project_id) REFERENCES projects (id) NOT VALID;
ALTER TABLE workflow_step_runs ADD CONSTRAINT workflow_step_runs_execution_id_fkey FOREIGN KEY (execution_id) REFERENCES workflow_executions (id) NOT VALID;
ALTER TABLE workflow_timeline ADD CONSTRAINT workflow_timeline_execution_id_fkey FOREIGN KEY (execution_id) REFERENCES workflow_executions (id) NOT VALID;
ALTER TABLE workflow_tasks ADD CONSTRAINT workflow_tasks_execution_id_fkey FOREIGN KEY (execution_id) REFERENCES workflow_executions (id) NOT VALID;
