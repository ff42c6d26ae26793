DROP TABLE oauth_grants;
DROP TABLE oauth_codes;
DROP TABLE oauth_clients;
CREATE TABLE signing_keys_prev (
    kid TEXT PRIMARY KEY NOT NULL,
    algorithm TEXT NOT NULL CHECK (algorithm IN ('EdDSA')),
    public_key TEXT NOT NULL,
    sealed_private_key BLOB NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT
);
INSERT INTO signing_keys_prev SELECT * FROM signing_keys WHERE algorithm = 'EdDSA';
DROP TABLE signing_keys;
ALTER TABLE signing_keys_prev RENAME TO signing_keys;
CREATE INDEX signing_keys_live ON signing_keys (created_at) WHERE retired_at IS NULL;
