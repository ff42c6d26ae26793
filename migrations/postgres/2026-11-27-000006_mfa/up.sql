-- Second factors: the TOTP credential (secret sealed under the master key), recovery codes
-- (SHA-256 only) and MFA challenges (the `mfa_token` between password and code, SHA-256 only).
CREATE TABLE totp_credentials (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    sealed_secret bytea NOT NULL,
    confirmed_at timestamptz,
    last_used_step bigint NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE recovery_codes (
    hash text PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    used_at timestamptz
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

CREATE TABLE mfa_challenges (
    hash text PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose text NOT NULL CHECK (purpose IN ('verify', 'enroll')),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    attempts integer NOT NULL,
    consumed_at timestamptz,
    ip text,
    user_agent text
);
CREATE INDEX mfa_challenges_expiry ON mfa_challenges (expires_at);
