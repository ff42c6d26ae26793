-- Audit entries as changes queue them: inserted in the change's own transaction, with no lock
-- shared with the tenant's other changes, so one tenant's writes commit side by side. The
-- sequencer (usvc-runtime's AuditSequencer, and every read of the trail before it reads)
-- moves them into audit_log in batches: chain positions and hashes assigned in `queued`
-- order under the chain head's row lock, the rows deleted here in the same transaction.
-- docs/security.md § Audit trail.
CREATE TABLE audit_queue (
    queued bigserial PRIMARY KEY,
    id uuid NOT NULL UNIQUE,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    at timestamptz NOT NULL,
    actor_type text NOT NULL,
    actor_id uuid,
    session_id uuid,
    action text NOT NULL,
    resource_type text,
    resource_id text,
    outcome text NOT NULL,
    ip text,
    user_agent text,
    request_id text,
    details text NOT NULL
);
CREATE INDEX audit_queue_tenant ON audit_queue (tenant_id, queued);

-- A queued entry is only ever inserted, then moved (deleted) by the sequencer: never edited.
CREATE FUNCTION audit_queue_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_queue rows are never updated';
END;
$$;
CREATE TRIGGER audit_queue_no_update BEFORE UPDATE ON audit_queue
    FOR EACH ROW EXECUTE FUNCTION audit_queue_no_update();
