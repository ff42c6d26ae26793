-- Analytics: failed logins per tenant and UTC day (kept, unlike the lockout counters, which a
-- success resets), and indexes for the per-day counts of sign-ups and logins (sessions).
CREATE TABLE login_failure_days (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    day TEXT NOT NULL,
    failures INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
CREATE INDEX sessions_tenant_created ON sessions (tenant_id, created_at);
CREATE INDEX users_tenant_created ON users (tenant_id, created_at);
