CREATE TABLE oauth_assertions (
    hash TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX oauth_assertions_expiry ON oauth_assertions (expires_at);
CREATE TABLE passkey_challenges (
    hash TEXT PRIMARY KEY NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX passkey_challenges_expiry ON passkey_challenges (expires_at);
-- The assertions' clients are not kept in spent_once: a nil id stands in (the column was
-- never read).
INSERT INTO oauth_assertions (hash, client_id, expires_at)
    SELECT key, '00000000-0000-0000-0000-000000000000', expires_at FROM spent_once
    WHERE kind = 'client_assertion';
INSERT INTO passkey_challenges (hash, expires_at)
    SELECT 'passkey-sign-in.' || key, expires_at FROM spent_once
    WHERE kind = 'passkey_challenge';
DROP TABLE spent_once;
