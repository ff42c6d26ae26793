//! OAuth clients: the applications a tenant lets sign its users in through this service
//! (docs/oidc.md), and what each may ask for.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ClientId, TenantId};

/// Whether a client can keep a secret (RFC 6749 section 2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// A server-side application: authenticates with a secret or a signed assertion.
    Confidential,
    /// A browser or native application: no secret, PKCE with S256 required.
    Public,
}

/// How a client proves who it is at the token endpoint (the RFC 8414 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// The secret in HTTP Basic authentication.
    ClientSecretBasic,
    /// The secret in the form body.
    ClientSecretPost,
    /// A JWT signed with one of the client's registered keys (RFC 7523).
    PrivateKeyJwt,
    /// Nothing (public clients).
    None,
}

impl ClientAuthMethod {
    /// The registry name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }
}

/// A grant a client may use at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// Authorization code with PKCE (a user signs in).
    AuthorizationCode,
    /// Refresh tokens, rotated on every use.
    RefreshToken,
    /// The client acts as itself, with its own roles (confidential clients only).
    ClientCredentials,
}

impl GrantType {
    /// The `grant_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }
}

/// What a client's ID tokens are signed with (`id_token_signed_response_alg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum IdTokenAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256: OpenID Connect's default, accepted by every client.
    #[default]
    RS256,
    /// Ed25519: smaller and faster, for clients that accept it.
    EdDSA,
}

impl IdTokenAlg {
    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::EdDSA => "EdDSA",
        }
    }
}

/// The algorithms client assertions (`private_key_jwt`) may be signed with, one per key
/// type: never `none`, never an HMAC (a client's registered key is public: anyone could make
/// an HMAC with it).
pub const ASSERTION_ALGORITHMS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

/// A registered OAuth client of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuthClient {
    /// Stable id; its text form is the `client_id`.
    pub id: ClientId,
    /// The tenant whose users it signs in.
    pub tenant_id: TenantId,
    /// Shown on the consent page and in lists.
    pub name: String,
    /// Confidential or public.
    pub kind: ClientKind,
    /// How it authenticates at the token endpoint.
    pub auth_method: ClientAuthMethod,
    /// SHA-256 of its secret (hex); `None` for public and `private_key_jwt` clients.
    #[serde(skip)]
    pub secret_hash: Option<String>,
    /// The public keys its assertions are signed with (a JWK Set), for `private_key_jwt`.
    pub jwks: Option<serde_json::Value>,
    /// Where codes may be sent: compared exactly, character for character.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser afterwards: compared exactly.
    pub post_logout_redirect_uris: Vec<String>,
    /// The grants it may use.
    pub grant_types: Vec<GrantType>,
    /// The scopes it may be given.
    pub scopes: Vec<String>,
    /// Tenant roles its `client_credentials` tokens carry.
    pub roles: Vec<String>,
    /// A first-party application: its users are not asked for consent.
    pub trusted: bool,
    /// What its ID tokens are signed with.
    pub id_token_alg: IdTokenAlg,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change (or secret rotation).
    pub updated_at: DateTime<Utc>,
}

impl OAuthClient {
    /// Whether it may use `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}
