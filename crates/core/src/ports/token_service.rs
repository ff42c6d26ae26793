use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{CoreError, SessionId, TenantId, UserId};

/// The claims of an access token (docs/design.md section 5): `iss aud sub tid sid roles iat exp
/// jti`, plus `nbf`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer: this service's configured issuer URL or name.
    pub iss: String,
    /// Audience: who the token is for.
    pub aud: String,
    /// The user.
    pub sub: UserId,
    /// The user's tenant.
    pub tid: TenantId,
    /// The session the token belongs to (logout revokes it).
    pub sid: SessionId,
    /// Tenant-level roles at issue time.
    pub roles: Vec<String>,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Not before (seconds since the epoch).
    pub nbf: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Unique token id.
    pub jti: String,
    /// The OAuth client the token was issued to (RFC 9068), if one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The scopes it was issued with (space-separated), if a client asked for them: without
    /// `api` it opens `userinfo` only, not this service's API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// What to put in a new access token; the service adds `iss`, `aud`, times, `jti`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The user.
    pub user: UserId,
    /// The user's tenant.
    pub tenant: TenantId,
    /// The session.
    pub session: SessionId,
    /// Roles to embed.
    pub roles: Vec<String>,
    /// The OAuth client it is for, if any.
    pub client_id: Option<crate::ClientId>,
    /// The scopes granted to that client (space-separated).
    pub scope: Option<String>,
}

/// A signed access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The compact JWS.
    pub token: String,
    /// Its claims.
    pub claims: AccessClaims,
    /// `exp` as a time.
    pub expires_at: DateTime<Utc>,
}

/// Issues and verifies access tokens, and publishes the public keys that verify them.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait TokenService: Send + Sync {
    /// Signs a token for `request` with the active key.
    fn issue(&self, request: &TokenRequest) -> Result<IssuedToken, CoreError>;

    /// Verifies signature (pinned algorithm, known `kid`), issuer, audience, `exp` and `nbf`.
    /// Every failure is `Unauthenticated` with a reason fit for logs, not for callers.
    fn verify(&self, token: &str) -> Result<AccessClaims, CoreError>;

    /// Signs `claims` (an ID token) as a compact JWS with the signing key of `alg`, its `kid`
    /// in the header. `Unavailable` if no key of `alg` is loaded.
    fn sign_claims(
        &self,
        claims: &serde_json::Value,
        alg: crate::IdTokenAlg,
    ) -> Result<String, CoreError>;

    /// The claims of a token this service signed (an ID token coming back as an
    /// `id_token_hint`): signature checked against any published key of its algorithm,
    /// expiry not (a hint may be old). `Unauthenticated` for anything else.
    fn verify_own(&self, token: &str) -> Result<serde_json::Value, CoreError>;

    /// The claims of a client assertion (`private_key_jwt`, RFC 7523) if one of `keys` (the
    /// client's registered JWK Set) signed it with an algorithm of
    /// [`crate::ASSERTION_ALGORITHMS`]; `none` and HMACs are refused by name. Only the
    /// signature is checked: the caller checks the claims. `Unauthenticated` with the reason.
    fn verify_client_assertion(
        &self,
        assertion: &str,
        keys: &serde_json::Value,
    ) -> Result<serde_json::Value, CoreError>;

    /// The JSON Web Key Set of every key that may still verify a live token.
    fn jwks(&self) -> serde_json::Value;
}
