-- The audit trail: one hash chain per tenant (see usvc_core::audit). Rows keep ids, not
-- foreign keys to users, so erasing a user leaves the trail intact.
CREATE TABLE audit_log (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    seq bigint NOT NULL,
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
    details text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    UNIQUE (tenant_id, seq)
);
CREATE INDEX audit_log_actor ON audit_log (tenant_id, actor_id, seq);
CREATE INDEX audit_log_resource ON audit_log (tenant_id, resource_type, resource_id, seq);

-- Each chain's last link: appends serialise on this row, and a row removed from the end of
-- the chain shows as a head the rows do not reach.
CREATE TABLE audit_heads (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
    seq bigint NOT NULL,
    hash text NOT NULL
);

-- Append-only, enforced by the database too: only someone able to switch this trigger off
-- can change history, and the chain shows what they changed.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log rows are never updated or deleted';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- The heads only move forward: never deleted, their position never lowered.
CREATE FUNCTION audit_heads_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.seq < OLD.seq THEN
        RAISE EXCEPTION 'audit_heads only move forward';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_heads_forward_only BEFORE UPDATE OR DELETE ON audit_heads
    FOR EACH ROW EXECUTE FUNCTION audit_heads_forward_only();
