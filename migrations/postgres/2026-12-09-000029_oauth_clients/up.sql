-- OAuth clients of a tenant (docs/oidc.md). List columns hold JSON arrays; the secret is kept
-- only as its SHA-256 (hex).
CREATE TABLE oauth_clients (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('confidential', 'public')),
    auth_method text NOT NULL
        CHECK (auth_method IN ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
    secret_hash text,
    jwks jsonb,
    redirect_uris jsonb NOT NULL,
    post_logout_redirect_uris jsonb NOT NULL,
    grant_types jsonb NOT NULL,
    scopes jsonb NOT NULL,
    roles jsonb NOT NULL,
    trusted boolean NOT NULL,
    id_token_alg text NOT NULL CHECK (id_token_alg IN ('RS256', 'EdDSA')),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX oauth_clients_tenant ON oauth_clients (tenant_id, id);

-- ID tokens are signed with EdDSA or RS256 (many OpenID clients accept only RS256).
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_algorithm_check;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_algorithm_check
    CHECK (algorithm IN ('EdDSA', 'RS256'));

-- Authorization codes (their SHA-256 only): single-use, bound to client, redirect URI and PKCE
-- challenge. session_id names the grant a redemption opened (revoked if the code comes again).
CREATE TABLE oauth_codes (
    hash text PRIMARY KEY,
    tenant_id uuid NOT NULL,
    client_id uuid NOT NULL,
    user_id uuid NOT NULL,
    browser_session_id uuid NOT NULL,
    redirect_uri text NOT NULL,
    code_challenge text,
    scope jsonb NOT NULL,
    nonce text,
    auth_time timestamptz NOT NULL,
    amr jsonb NOT NULL,
    issuer text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    redeemed_at timestamptz,
    session_id uuid
);
CREATE INDEX oauth_codes_expiry ON oauth_codes (expires_at);

-- Grants: a client's session (the sessions row of the same id) and what it was granted.
CREATE TABLE oauth_grants (
    session_id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    client_id uuid NOT NULL,
    user_id uuid NOT NULL,
    browser_session_id uuid NOT NULL,
    scope jsonb NOT NULL,
    auth_time timestamptz NOT NULL,
    amr jsonb NOT NULL,
    issuer text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX oauth_grants_browser_session ON oauth_grants (browser_session_id);
CREATE INDEX oauth_grants_client ON oauth_grants (client_id);
