//! `/api/v1/oauth/clients…`: the tenant's OpenID Connect / OAuth clients (docs/oidc.md).

use super::body;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use usvc_core::{ClientAuthMethod, ClientId, ClientKind, GrantType, IdTokenAlg, OAuthClient};
use usvc_user::{ClientInput, SavedClient};
use utoipa::ToSchema;

use crate::http::authenticated::Authenticated;
use crate::http::problem::{path_id, ApiError, Problem};
use crate::http::state::AppState;

/// A registered client.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    /// The `client_id`.
    pub client_id: String,
    /// Shown on the consent page.
    pub name: String,
    /// `confidential` or `public`.
    #[schema(value_type = String, pattern = "^(confidential|public)$")]
    pub kind: ClientKind,
    /// How it authenticates at the token endpoint (`token_endpoint_auth_method`).
    #[schema(value_type = String, pattern = "^(client_secret_basic|client_secret_post|private_key_jwt|none)$")]
    pub auth_method: ClientAuthMethod,
    /// Its public keys, for `private_key_jwt`.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Exact post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed grants.
    #[schema(value_type = Vec<String>)]
    pub grant_types: Vec<GrantType>,
    /// Allowed scopes.
    pub scopes: Vec<String>,
    /// Roles its `client_credentials` tokens carry.
    pub roles: Vec<String>,
    /// First-party: its users are not asked for consent.
    pub trusted: bool,
    /// What its ID tokens are signed with (`id_token_signed_response_alg`).
    #[schema(value_type = String, pattern = "^(RS256|EdDSA)$")]
    pub id_token_alg: IdTokenAlg,
    /// The secret: only in the answer that made it (create, rotate, or a change to a secret
    /// method); store it now, it is kept only as a hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl ClientView {
    fn of(client: OAuthClient, secret: Option<String>) -> Self {
        Self {
            client_id: client.id.to_string(),
            name: client.name,
            kind: client.kind,
            auth_method: client.auth_method,
            jwks: client.jwks,
            redirect_uris: client.redirect_uris,
            post_logout_redirect_uris: client.post_logout_redirect_uris,
            grant_types: client.grant_types,
            scopes: client.scopes,
            roles: client.roles,
            trusted: client.trusted,
            id_token_alg: client.id_token_alg,
            client_secret: secret,
            created_at: client.created_at,
            updated_at: client.updated_at,
        }
    }
}

impl From<SavedClient> for ClientView {
    fn from(saved: SavedClient) -> Self {
        Self::of(saved.client, saved.secret)
    }
}

/// Grant types a client may be given.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantTypeName {
    /// A user signs in (with PKCE).
    AuthorizationCode,
    /// Rotating refresh tokens.
    RefreshToken,
    /// The client as itself (confidential clients).
    ClientCredentials,
}

impl From<GrantTypeName> for GrantType {
    fn from(g: GrantTypeName) -> Self {
        match g {
            GrantTypeName::AuthorizationCode => Self::AuthorizationCode,
            GrantTypeName::RefreshToken => Self::RefreshToken,
            GrantTypeName::ClientCredentials => Self::ClientCredentials,
        }
    }
}

/// Client kinds.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientKindName {
    /// Keeps a secret (a server).
    Confidential,
    /// Cannot keep a secret (a browser or native app): PKCE S256 required.
    Public,
}

/// Token endpoint authentication methods.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethodName {
    /// The secret in HTTP Basic.
    ClientSecretBasic,
    /// The secret in the form body.
    ClientSecretPost,
    /// A JWT signed with a registered key.
    PrivateKeyJwt,
    /// None (public clients).
    None,
}

/// ID token signature algorithms.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum IdTokenAlgName {
    /// RSA with SHA-256.
    RS256,
    /// Ed25519.
    EdDSA,
}

/// A client definition (create or replace). Read-only fields from a GET may be sent back.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientRequest {
    /// 1-100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// `confidential` (default) or `public`; fixed once created.
    #[serde(default)]
    pub kind: Option<ClientKindName>,
    /// Defaults to `client_secret_basic` (confidential) or `none` (public).
    #[serde(default)]
    pub auth_method: Option<AuthMethodName>,
    /// A JWK Set (`{"keys": [...]}`, public keys only), for `private_key_jwt`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Exact redirect URIs: https, http on a loopback host, or (public clients) a
    /// reversed-domain scheme. At most 10.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub redirect_uris: Vec<String>,
    /// Exact URIs RP-initiated logout may return to. At most 10.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Defaults to `authorization_code` and `refresh_token`.
    #[serde(default)]
    pub grant_types: Option<Vec<GrantTypeName>>,
    /// Of `openid`, `profile`, `email`, `offline_access`, `api`; defaults to `openid profile
    /// email`.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Roles of its `client_credentials` tokens (you must hold what they grant).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub roles: Vec<String>,
    /// First-party: skip the consent page.
    #[serde(default)]
    pub trusted: bool,
    /// `RS256` (default: what every OpenID client accepts) or `EdDSA`.
    #[serde(default)]
    pub id_token_alg: Option<IdTokenAlgName>,
    /// Read-only.
    #[schema(ignore)]
    pub client_id: Option<String>,
    /// Read-only.
    #[schema(ignore)]
    pub created_at: Option<String>,
    /// Read-only.
    #[schema(ignore)]
    pub updated_at: Option<String>,
}

impl From<ClientRequest> for ClientInput {
    fn from(r: ClientRequest) -> Self {
        Self {
            name: r.name,
            kind: match r.kind.unwrap_or(ClientKindName::Confidential) {
                ClientKindName::Confidential => ClientKind::Confidential,
                ClientKindName::Public => ClientKind::Public,
            },
            auth_method: r.auth_method.map(|m| match m {
                AuthMethodName::ClientSecretBasic => ClientAuthMethod::ClientSecretBasic,
                AuthMethodName::ClientSecretPost => ClientAuthMethod::ClientSecretPost,
                AuthMethodName::PrivateKeyJwt => ClientAuthMethod::PrivateKeyJwt,
                AuthMethodName::None => ClientAuthMethod::None,
            }),
            jwks: r.jwks,
            redirect_uris: r.redirect_uris,
            post_logout_redirect_uris: r.post_logout_redirect_uris,
            grant_types: r.grant_types.map_or_else(
                || vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                |g| g.into_iter().map(GrantType::from).collect(),
            ),
            scopes: r
                .scopes
                .unwrap_or_else(|| ["openid", "profile", "email"].map(String::from).to_vec()),
            roles: r.roles,
            trusted: r.trusted,
            id_token_alg: match r.id_token_alg {
                Some(IdTokenAlgName::EdDSA) => IdTokenAlg::EdDSA,
                Some(IdTokenAlgName::RS256) | None => IdTokenAlg::RS256,
            },
        }
    }
}

/// The tenant's clients.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientList {
    /// Oldest first.
    pub items: Vec<ClientView>,
    /// Always `null`: every client fits one page.
    pub next_cursor: Option<String>,
}

/// The tenant's OAuth clients (`clients:manage`).
#[utoipa::path(get, path = "/api/v1/oauth/clients", tag = "oauth", security(("bearer" = [])),
    responses(
        (status = 200, body = ClientList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let items = state.clients.list(&caller.0).await?;
    Ok(HttpResponse::Ok().json(ClientList {
        items: items.into_iter().map(|c| ClientView::of(c, None)).collect(),
        next_cursor: None,
    }))
}

/// Registers a client (`clients:manage`); a secret, if it uses one, is in this answer only.
#[utoipa::path(post, path = "/api/v1/oauth/clients", tag = "oauth", request_body = ClientRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = ClientView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: body::Json<ClientRequest>,
) -> Result<HttpResponse, ApiError> {
    let saved = state
        .clients
        .create(&caller.0, body.into_inner().into())
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/oauth/clients/{}", saved.client.id),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .json(ClientView::from(saved)))
}

/// One client (`clients:manage`).
#[utoipa::path(get, path = "/api/v1/oauth/clients/{client_id}", tag = "oauth",
    params(("client_id" = String, Path, description = "Client id")), security(("bearer" = [])),
    responses(
        (status = 200, body = ClientView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let client = state
        .clients
        .get(&caller.0, path_id::<ClientId>(&path, "client")?)
        .await?;
    Ok(HttpResponse::Ok().json(ClientView::of(client, None)))
}

/// Replaces a client's definition (`clients:manage`); its kind is fixed.
#[utoipa::path(put, path = "/api/v1/oauth/clients/{client_id}", tag = "oauth",
    request_body = ClientRequest,
    params(("client_id" = String, Path, description = "Client id")), security(("bearer" = [])),
    responses(
        (status = 200, body = ClientView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: body::Json<ClientRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<ClientId>(&path, "client")?;
    let saved = state
        .clients
        .update(&caller.0, id, body.into_inner().into())
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(ClientView::from(saved)))
}

/// Makes a new secret (`clients:manage`); the old one stops working at once.
#[utoipa::path(post, path = "/api/v1/oauth/clients/{client_id}/secret", tag = "oauth",
    params(("client_id" = String, Path, description = "Client id")), security(("bearer" = [])),
    responses(
        (status = 200, body = ClientView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The client uses no secret", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<ClientId>(&path, "client")?;
    let saved = state.clients.rotate_secret(&caller.0, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(ClientView::from(saved)))
}

/// Removes a client (`clients:manage`).
#[utoipa::path(delete, path = "/api/v1/oauth/clients/{client_id}", tag = "oauth",
    params(("client_id" = String, Path, description = "Client id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .clients
        .delete(&caller.0, path_id::<ClientId>(&path, "client")?)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
