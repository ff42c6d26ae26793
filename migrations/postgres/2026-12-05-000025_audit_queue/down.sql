DROP TABLE audit_queue;
DROP FUNCTION audit_queue_no_update();
