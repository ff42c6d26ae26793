-- Second factors: the TOTP credential (secret sealed under the master key), recovery codes
-- (SHA-256 only) and MFA challenges (the `mfa_token` between password and code, SHA-256 only).
CREATE TABLE totp_credentials (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    sealed_secret BLOB NOT NULL,
    confirmed_at TEXT,
    last_used_step BIGINT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE recovery_codes (
    hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    used_at TEXT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

CREATE TABLE mfa_challenges (
    hash TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('verify', 'enroll')),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    consumed_at TEXT,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX mfa_challenges_expiry ON mfa_challenges (expires_at);
