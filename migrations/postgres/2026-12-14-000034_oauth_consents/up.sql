-- Users' standing consents to applications (docs/oidc.md): the scopes each allowed a client,
-- so the consent page is not shown again for what they cover. Withdrawn by the user (which
-- also ends the client's grants); gone with the user.
CREATE TABLE oauth_consents (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id uuid NOT NULL,
    scope text NOT NULL,
    granted_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
