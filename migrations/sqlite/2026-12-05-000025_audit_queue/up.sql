-- Audit entries as changes queue them: inserted in the change's own transaction, with no lock
-- shared with the tenant's other changes, so one tenant's writes commit side by side. The
-- sequencer (usvc-runtime's AuditSequencer, and every read of the trail before it reads)
-- moves them into audit_log in batches: chain positions and hashes assigned in `queued`
-- order under the chain head's row lock, the rows deleted here in the same transaction.
-- docs/security.md § Audit trail.
CREATE TABLE audit_queue (
    queued INTEGER PRIMARY KEY NOT NULL,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    at TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT,
    session_id TEXT,
    action TEXT NOT NULL,
    resource_type TEXT,
    resource_id TEXT,
    outcome TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    request_id TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_queue_tenant ON audit_queue (tenant_id, queued);

-- A queued entry is only ever inserted, then moved (deleted) by the sequencer: never edited.
CREATE TRIGGER audit_queue_no_update BEFORE UPDATE ON audit_queue
BEGIN
    SELECT RAISE(ABORT, 'audit_queue rows are never updated');
END;
