-- Consecutive failed logins per (tenant, normalised email), for the growing lockout delay.
CREATE TABLE login_failures (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    email_normalized text NOT NULL,
    failures integer NOT NULL,
    locked_until timestamptz,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, email_normalized)
);
