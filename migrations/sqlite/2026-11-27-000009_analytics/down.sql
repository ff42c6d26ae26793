DROP INDEX users_tenant_created;
DROP INDEX sessions_tenant_created;
DROP TABLE login_failure_days;
