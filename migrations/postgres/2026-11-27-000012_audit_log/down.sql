DROP TABLE audit_heads;
DROP TABLE audit_log;
DROP FUNCTION audit_heads_forward_only();
DROP FUNCTION audit_log_append_only();
