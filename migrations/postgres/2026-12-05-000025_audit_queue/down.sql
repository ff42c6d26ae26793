DROP TABLE audit_queue;
