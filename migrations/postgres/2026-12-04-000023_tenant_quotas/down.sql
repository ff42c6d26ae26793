DROP INDEX workflow_executions_live_by_tenant;
DROP TABLE tenant_quotas;
