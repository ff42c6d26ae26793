-- Rows that come with traffic no longer name their tenant, user or workflow through a FOREIGN
-- KEY on Postgres. Such a constraint makes every insert lock the parent row (FOR KEY SHARE),
-- and inserts of one tenant that run side by side then share that lock through a MultiXact:
-- one tenant's writes contend on one row they never change (project creates at 16
-- connections ran 11-16% slower, docs/benchmarks.md). Nothing is lost: tenants, users and workflows are
-- never deleted (they are disabled, erased in place or marked deleted), every writer takes
-- these ids from the authenticated caller or a row it has just read, and SQLite, where a
-- check locks nothing, keeps the constraints, so the conformance suite's SQLite run still
-- refuses an orphan row. ADR 0031 says why these and not the rest.
ALTER TABLE audit_queue DROP CONSTRAINT audit_queue_tenant_id_fkey;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_tenant_id_fkey;
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_tenant_id_fkey;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_tenant_id_fkey;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_user_id_fkey;
ALTER TABLE sessions DROP CONSTRAINT sessions_tenant_id_fkey;
ALTER TABLE sessions DROP CONSTRAINT sessions_user_id_fkey;
ALTER TABLE login_failures DROP CONSTRAINT login_failures_tenant_id_fkey;
ALTER TABLE login_failure_days DROP CONSTRAINT login_failure_days_tenant_id_fkey;
ALTER TABLE mfa_challenges DROP CONSTRAINT mfa_challenges_tenant_id_fkey;
ALTER TABLE action_tokens DROP CONSTRAINT action_tokens_tenant_id_fkey;
ALTER TABLE projects DROP CONSTRAINT projects_tenant_id_fkey;
ALTER TABLE projects DROP CONSTRAINT projects_owner_id_fkey;
ALTER TABLE project_members DROP CONSTRAINT project_members_tenant_id_fkey;
ALTER TABLE project_members DROP CONSTRAINT project_members_user_id_fkey;
ALTER TABLE project_versions DROP CONSTRAINT project_versions_tenant_id_fkey;
ALTER TABLE workflow_executions DROP CONSTRAINT workflow_executions_tenant_id_fkey;
ALTER TABLE workflow_executions DROP CONSTRAINT workflow_executions_workflow_id_fkey;
ALTER TABLE workflow_tasks DROP CONSTRAINT workflow_tasks_tenant_id_fkey;
ALTER TABLE workflow_tasks DROP CONSTRAINT workflow_tasks_workflow_id_fkey;
