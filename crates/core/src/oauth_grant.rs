//! What the OpenID provider keeps between a sign-in and a client's tokens (docs/oidc.md):
//! authorization codes, and the grant each redeemed code opened (a session of its own, bound
//! to the client, child of the browser's sign-in session).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ClientId, SessionId, TenantId, UserId};

/// An authorization code as stored (its SHA-256 only): single-use, short-lived, bound to
/// its client, redirect URI and PKCE challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// SHA-256 of the code (hex).
    pub hash: String,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The user who signed in.
    pub user_id: UserId,
    /// The browser's sign-in session (the ID token's `sid`; logging it out ends the grant).
    pub browser_session: SessionId,
    /// The redirect URI the code was sent to: the token request must name it again.
    pub redirect_uri: String,
    /// The PKCE S256 challenge, if the client sent one (public clients must).
    pub code_challenge: Option<String>,
    /// The scopes granted.
    pub scope: Vec<String>,
    /// The client's `nonce`, echoed in the ID token.
    pub nonce: Option<String>,
    /// When the user authenticated.
    pub auth_time: DateTime<Utc>,
    /// How (`pwd`, `mfa`, `hwk`, …: RFC 8176).
    pub amr: Vec<String>,
    /// The issuer the request came to (the ID token's `iss`).
    pub issuer: String,
    /// When issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was redeemed, if it was.
    pub redeemed_at: Option<DateTime<Utc>>,
    /// The grant (session) its redemption opened, if it was redeemed.
    pub session_id: Option<SessionId>,
}

/// A client's hold on a user's account: a session of its own (whose refresh tokens rotate
/// with reuse detection like any session's), and what it was granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthGrant {
    /// The grant's session.
    pub session_id: SessionId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The client holding it.
    pub client_id: ClientId,
    /// The user.
    pub user_id: UserId,
    /// The browser sign-in it came from.
    pub browser_session: SessionId,
    /// The scopes granted.
    pub scope: Vec<String>,
    /// When the user authenticated.
    pub auth_time: DateTime<Utc>,
    /// How they authenticated.
    pub amr: Vec<String>,
    /// The issuer (`iss` of its ID tokens).
    pub issuer: String,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
}
