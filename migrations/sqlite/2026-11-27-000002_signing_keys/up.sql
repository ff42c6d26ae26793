-- Access-token signing keys. The private key is sealed (AES-256-GCM) under the master key.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    algorithm TEXT NOT NULL CHECK (algorithm IN ('EdDSA')),
    public_key TEXT NOT NULL,
    sealed_private_key BLOB NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT
);
CREATE INDEX signing_keys_live ON signing_keys (created_at) WHERE retired_at IS NULL;
