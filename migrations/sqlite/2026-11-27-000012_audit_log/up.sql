-- The audit trail: one hash chain per tenant (see usvc_core::audit). Rows keep ids, not
-- foreign keys to users, so erasing a user leaves the trail intact.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    seq BIGINT NOT NULL,
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
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (tenant_id, seq)
);
CREATE INDEX audit_log_actor ON audit_log (tenant_id, actor_id, seq);
CREATE INDEX audit_log_resource ON audit_log (tenant_id, resource_type, resource_id, seq);

-- Each chain's last link: appends serialise on this row, and a row removed from the end of
-- the chain shows as a head the rows do not reach.
CREATE TABLE audit_heads (
    tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants (id),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);

-- Append-only, enforced by the database too: only someone able to drop these triggers can
-- change history, and the chain shows what they changed.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log rows are never updated or deleted');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log rows are never updated or deleted');
END;

-- The heads only move forward: never deleted, their position never lowered.
CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
BEGIN
    SELECT RAISE(ABORT, 'audit_heads only move forward');
END;
CREATE TRIGGER audit_heads_no_rewind BEFORE UPDATE ON audit_heads
WHEN NEW.seq < OLD.seq
BEGIN
    SELECT RAISE(ABORT, 'audit_heads only move forward');
END;
