-- Single-use tokens mailed to users (password reset, email verification), stored only as
-- SHA-256 hashes.
CREATE TABLE action_tokens (
    hash text PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose text NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
    email text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX action_tokens_user ON action_tokens (user_id);
