-- Access-token signing keys. The private key is sealed (AES-256-GCM) under the master key.
CREATE TABLE signing_keys (
    kid text PRIMARY KEY,
    algorithm text NOT NULL CHECK (algorithm IN ('EdDSA')),
    public_key text NOT NULL,
    sealed_private_key bytea NOT NULL,
    created_at timestamptz NOT NULL,
    retired_at timestamptz
);
CREATE INDEX signing_keys_live ON signing_keys (created_at) WHERE retired_at IS NULL;
