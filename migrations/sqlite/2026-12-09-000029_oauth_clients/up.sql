-- OAuth clients of a tenant (docs/oidc.md). List columns hold JSON arrays; the secret is kept
-- only as its SHA-256 (hex).
CREATE TABLE oauth_clients (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('confidential', 'public')),
    auth_method TEXT NOT NULL
        CHECK (auth_method IN ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
    secret_hash TEXT,
    jwks TEXT,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    grant_types TEXT NOT NULL,
    scopes TEXT NOT NULL,
    roles TEXT NOT NULL,
    trusted BOOLEAN NOT NULL,
    id_token_alg TEXT NOT NULL CHECK (id_token_alg IN ('RS256', 'EdDSA')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX oauth_clients_tenant ON oauth_clients (tenant_id, id);

-- ID tokens are signed with EdDSA or RS256 (many OpenID clients accept only RS256). SQLite
-- cannot change a CHECK in place: the table is copied.
CREATE TABLE signing_keys_next (
    kid TEXT PRIMARY KEY NOT NULL,
    algorithm TEXT NOT NULL CHECK (algorithm IN ('EdDSA', 'RS256')),
    public_key TEXT NOT NULL,
    sealed_private_key BLOB NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT
);
INSERT INTO signing_keys_next SELECT * FROM signing_keys;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_next RENAME TO signing_keys;
CREATE INDEX signing_keys_live ON signing_keys (created_at) WHERE retired_at IS NULL;

-- Authorization codes (their SHA-256 only): single-use, bound to client, redirect URI and PKCE
-- challenge. session_id names the grant a redemption opened (revoked if the code comes again).
CREATE TABLE oauth_codes (
    hash TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    browser_session_id TEXT NOT NULL,
    redirect_uri text NOT NULL,
    code_challenge text,
    scope TEXT NOT NULL,
    nonce text,
    auth_time TEXT NOT NULL,
    amr TEXT NOT NULL,
    issuer text NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    redeemed_at TEXT,
    session_id TEXT
);
CREATE INDEX oauth_codes_expiry ON oauth_codes (expires_at);

-- Grants: a client's session (the sessions row of the same id) and what it was granted.
CREATE TABLE oauth_grants (
    session_id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    browser_session_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    auth_time TEXT NOT NULL,
    amr TEXT NOT NULL,
    issuer text NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX oauth_grants_browser_session ON oauth_grants (browser_session_id);
CREATE INDEX oauth_grants_client ON oauth_grants (client_id);
