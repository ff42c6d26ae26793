-- Users' passkeys (WebAuthn credentials, docs/passkeys.md). The credential (public key,
-- counter, backup state) is the WebAuthn adapter's JSON; its id is unique service-wide (a
-- passwordless sign-in names only the credential).
CREATE TABLE passkeys (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    credential_id TEXT NOT NULL UNIQUE,
    credential TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
CREATE INDEX passkeys_user ON passkeys (tenant_id, user_id);
