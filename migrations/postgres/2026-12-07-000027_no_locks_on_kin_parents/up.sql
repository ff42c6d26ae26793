-- The rows a change writes beside their parent in the same transaction (a refresh token
-- beside its session's move, a project's first member and version beside the project, an
-- execution's step runs, timeline and human tasks beside the execution) no longer name that
-- parent through a FOREIGN KEY on Postgres. Checking such a key locks the parent row
-- FOR KEY SHARE: one more trigger, index lookup and WAL record per child row, for a parent
-- the writer has just inserted or updated itself (refresh +7%, project create +5% without
-- them, docs/benchmarks.md). Sessions, projects and executions are never deleted (they are
-- revoked, marked deleted or kept as history), so no key ever refused a delete or cascaded
-- one; SQLite keeps the keys, so the conformance suite's SQLite run still refuses an orphan.
-- ADR 0032.
ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_session_id_fkey;
ALTER TABLE project_members DROP CONSTRAINT project_members_project_id_fkey;
ALTER TABLE project_versions DROP CONSTRAINT project_versions_project_id_fkey;
ALTER TABLE workflow_step_runs DROP CONSTRAINT workflow_step_runs_execution_id_fkey;
ALTER TABLE workflow_timeline DROP CONSTRAINT workflow_timeline_execution_id_fkey;
ALTER TABLE workflow_tasks DROP CONSTRAINT workflow_tasks_execution_id_fkey;
