-- Consecutive failed logins per (tenant, normalised email), for the growing lockout delay.
CREATE TABLE login_failures (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    email_normalized TEXT NOT NULL,
    failures INTEGER NOT NULL,
    locked_until TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, email_normalized)
);
