-- Passkey sign-in challenges spent (docs/passkeys.md): a sign-in without a password names no
-- user when it begins, so its challenge is remembered here (its hash, until it would have
-- expired) on its first answer, and a replay on any replica is refused.
CREATE TABLE passkey_challenges (
    hash text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX passkey_challenges_expiry ON passkey_challenges (expires_at);
