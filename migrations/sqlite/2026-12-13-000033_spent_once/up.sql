-- Single-use proofs spent (docs/architecture.md, the `SpentOnce` port): client assertions
-- (private_key_jwt, each `jti` once) and passkey sign-in challenges, each kept until it would
-- have expired, so a replay on any replica is refused. One table replaces the two that held
-- them (000030, 000032); what they held moves over, so no proof becomes reusable on upgrade.
CREATE TABLE spent_once (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX spent_once_expiry ON spent_once (expires_at);
INSERT INTO spent_once (kind, key, expires_at)
    SELECT 'client_assertion', hash, expires_at FROM oauth_assertions;
-- The challenges were kept as `passkey-sign-in.{challenge}`; the kind now says what they are.
INSERT INTO spent_once (kind, key, expires_at)
    SELECT 'passkey_challenge', substr(hash, 17), expires_at FROM passkey_challenges;
DROP TABLE oauth_assertions;
DROP TABLE passkey_challenges;
