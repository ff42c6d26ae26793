-- Client assertions spent (private_key_jwt, RFC 7523 section 3): each `jti` is accepted once
-- while its assertion is unexpired; kept (as a hash of client and jti) until then.
CREATE TABLE oauth_assertions (
    hash TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX oauth_assertions_expiry ON oauth_assertions (expires_at);
