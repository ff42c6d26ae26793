-- Users' passkeys (WebAuthn credentials, docs/passkeys.md). The credential (public key,
-- counter, backup state) is the WebAuthn adapter's JSON; its id is unique service-wide (a
-- passwordless sign-in names only the credential).
CREATE TABLE passkeys (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL,
    credential_id text NOT NULL UNIQUE,
    credential jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    last_used_at timestamptz
);
CREATE INDEX passkeys_user ON passkeys (tenant_id, user_id);
