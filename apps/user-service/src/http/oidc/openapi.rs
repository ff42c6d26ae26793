//! How `/openapi.json` states the provider's endpoints. Each issuer-bound endpoint exists at
//! the service-wide issuer and at each tenant's (`/t/{slug}`): one documented handler per
//! path, the tenant's calling the same code.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::oidc::{authorize, endpoints};
use crate::http::problem::ApiError;
use crate::http::state::AppState;

/// A token request (RFC 6749 section 4.1.3 and 6), `application/x-www-form-urlencoded`.
/// Clients authenticate with HTTP Basic, or `client_id` + `client_secret` in the form, or a
/// signed `client_assertion` (private_key_jwt, RFC 7523), or `client_id` alone (public
/// clients).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenForm {
    /// `authorization_code`, `refresh_token` or `client_credentials`.
    pub grant_type: String,
    /// The code (authorization_code).
    pub code: Option<String>,
    /// The redirect URI the code was sent to (authorization_code).
    pub redirect_uri: Option<String>,
    /// The PKCE verifier (authorization_code).
    pub code_verifier: Option<String>,
    /// The refresh token (refresh_token).
    pub refresh_token: Option<String>,
    /// A narrower scope (refresh_token), or the scope asked for (client_credentials).
    pub scope: Option<String>,
    /// The client (client_secret_post, none).
    pub client_id: Option<String>,
    /// The secret (client_secret_post).
    pub client_secret: Option<String>,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` (private_key_jwt).
    pub client_assertion_type: Option<String>,
    /// A JWT signed with one of the client's registered keys, RS256, ES256 or EdDSA
    /// (private_key_jwt).
    pub client_assertion: Option<String>,
}

/// A token response (RFC 6749 section 5.1, OpenID Connect Core section 3.1.3.3).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenAnswer {
    /// A JWT: `userinfo` takes it, and this API when the `api` scope was granted.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The granted scopes.
    pub scope: String,
    /// Rotated on every use; a spent one revokes the grant.
    pub refresh_token: Option<String>,
    /// When `openid` was granted: signed with the client's `id_token_alg`.
    pub id_token: Option<String>,
}

/// An OAuth error (RFC 6749 section 5.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope`.
    pub error: String,
    /// For the client's developer.
    pub error_description: Option<String>,
}

/// The provider's metadata (OpenID Connect Discovery 1.0, RFC 8414).
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "oidc",
    responses((status = 200, description = "The service-wide issuer's metadata", content_type = "application/json", body = Object)))]
pub async fn discovery(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    endpoints::discovery(state, req).await
}

/// A tenant issuer's metadata.
#[utoipa::path(get, path = "/t/{slug}/.well-known/openid-configuration", tag = "oidc",
    params(("slug" = String, Path, description = "The tenant's slug")),
    responses(
        (status = 200, description = "The tenant issuer's metadata", content_type = "application/json", body = Object),
        (status = 404, description = "No active tenant has this slug", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn tenant_discovery(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    endpoints::discovery(state, req).await
}

/// RFC 8414 metadata of the service-wide issuer.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oidc",
    responses((status = 200, description = "Authorization server metadata", content_type = "application/json", body = Object)))]
pub async fn metadata(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    endpoints::discovery(state, req).await
}

/// RFC 8414 metadata of a tenant issuer.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server/t/{slug}", tag = "oidc",
    params(("slug" = String, Path, description = "The tenant's slug")),
    responses(
        (status = 200, description = "Authorization server metadata", content_type = "application/json", body = Object),
        (status = 404, description = "No active tenant has this slug", body = crate::http::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn tenant_metadata(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    endpoints::discovery(state, req).await
}

/// The signed-in user's claims, as the access token's scopes allow (OpenID Connect Core
/// section 5.3). Also answers POST.
#[utoipa::path(get, path = "/oauth/userinfo", tag = "oidc", security(("bearer" = [])),
    responses(
        (status = 200, description = "`sub` and the claims the scopes open", content_type = "application/json", body = Object),
        (status = 401, description = "No, or an invalid, access token", body = OAuthErrorBody),
        (status = 403, description = "The token lacks the openid scope", body = OAuthErrorBody),
    ))]
pub async fn userinfo(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    endpoints::userinfo(state, req).await
}

/// A tenant issuer's userinfo endpoint.
#[utoipa::path(get, path = "/t/{slug}/oauth/userinfo", tag = "oidc", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The tenant's slug")),
    responses(
        (status = 200, description = "`sub` and the claims the scopes open", content_type = "application/json", body = Object),
        (status = 401, description = "No, or an invalid, access token", body = OAuthErrorBody),
        (status = 403, description = "The token lacks the openid scope", body = OAuthErrorBody),
    ))]
pub async fn tenant_userinfo(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    endpoints::userinfo(state, req).await
}

/// The authorization endpoint (a browser is sent here): the sign-in page, the consent page,
/// or a redirect to the client with a code or an error. Also answers POST (a form).
#[utoipa::path(get, path = "/oauth/authorize", tag = "oidc",
    params(
        ("client_id" = Option<String>, Query, description = "The client"),
        ("redirect_uri" = Option<String>, Query, description = "One of the client's, exactly"),
        ("response_type" = Option<String>, Query, description = "`code`"),
        ("scope" = Option<String>, Query, description = "Space-separated"),
        ("state" = Option<String>, Query, description = "Returned as sent"),
        ("nonce" = Option<String>, Query, description = "Echoed in the ID token"),
        ("code_challenge" = Option<String>, Query, description = "PKCE S256 challenge"),
        ("code_challenge_method" = Option<String>, Query, description = "`S256`"),
        ("prompt" = Option<String>, Query, description = "`none`, `login`, `consent`"),
        ("max_age" = Option<String>, Query, description = "Seconds"),
        ("login_hint" = Option<String>, Query, description = "Email to pre-fill"),
    ),
    responses(
        (status = 200, description = "The sign-in or consent page", content_type = "text/html"),
        (status = 303, description = "Back to the client with `code` (or `error`), `state` and `iss`"),
        (status = 400, description = "An error page: the client or redirect URI is unknown", content_type = "text/html"),
        (status = 404, description = "An error page: no such issuer", content_type = "text/html"),
        (status = 503, description = "An error page: try again", content_type = "text/html"),
    ))]
pub async fn authorize(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    authorize::authorize(state, req, body).await
}

/// A tenant issuer's authorization endpoint (its clients only).
#[utoipa::path(get, path = "/t/{slug}/oauth/authorize", tag = "oidc",
    params(
        ("slug" = String, Path, description = "The tenant's slug"),
        ("client_id" = Option<String>, Query, description = "The client"),
        ("redirect_uri" = Option<String>, Query, description = "One of the client's, exactly"),
        ("response_type" = Option<String>, Query, description = "`code`"),
        ("scope" = Option<String>, Query, description = "Space-separated"),
        ("state" = Option<String>, Query, description = "Returned as sent"),
        ("nonce" = Option<String>, Query, description = "Echoed in the ID token"),
        ("code_challenge" = Option<String>, Query, description = "PKCE S256 challenge"),
        ("code_challenge_method" = Option<String>, Query, description = "`S256`"),
        ("prompt" = Option<String>, Query, description = "`none`, `login`, `consent`"),
        ("max_age" = Option<String>, Query, description = "Seconds"),
        ("login_hint" = Option<String>, Query, description = "Email to pre-fill"),
    ),
    responses(
        (status = 200, description = "The sign-in or consent page", content_type = "text/html"),
        (status = 303, description = "Back to the client with `code` (or `error`), `state` and `iss`"),
        (status = 400, description = "An error page: the client or redirect URI is unknown", content_type = "text/html"),
        (status = 404, description = "An error page: no such issuer", content_type = "text/html"),
        (status = 503, description = "An error page: try again", content_type = "text/html"),
    ))]
pub async fn tenant_authorize(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    authorize::authorize(state, req, body).await
}

/// `userinfo` by POST (OpenID Connect Core section 5.3.1: GET and POST).
#[utoipa::path(post, path = "/oauth/userinfo", tag = "oidc", security(("bearer" = [])),
    responses(
        (status = 200, description = "`sub` and the claims the scopes open", content_type = "application/json", body = Object),
        (status = 401, description = "No, or an invalid, access token", body = OAuthErrorBody),
        (status = 403, description = "The token lacks the openid scope", body = OAuthErrorBody),
    ))]
pub async fn userinfo_post(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    endpoints::userinfo(state, req).await
}

/// A tenant issuer's `userinfo` by POST.
#[utoipa::path(post, path = "/t/{slug}/oauth/userinfo", tag = "oidc", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The tenant's slug")),
    responses(
        (status = 200, description = "`sub` and the claims the scopes open", content_type = "application/json", body = Object),
        (status = 401, description = "No, or an invalid, access token", body = OAuthErrorBody),
        (status = 403, description = "The token lacks the openid scope", body = OAuthErrorBody),
    ))]
pub async fn tenant_userinfo_post(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    endpoints::userinfo(state, req).await
}

/// An authorization request sent as a form (OpenID Connect Core section 3.1.2.1: GET and
/// POST); the parameters are the GET's.
#[utoipa::path(post, path = "/oauth/authorize", tag = "oidc",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The sign-in or consent page", content_type = "text/html"),
        (status = 303, description = "Back to the client with `code` (or `error`), `state` and `iss`"),
        (status = 400, description = "An error page: the client or redirect URI is unknown", content_type = "text/html"),
        (status = 404, description = "An error page: no such issuer", content_type = "text/html"),
        (status = 503, description = "An error page: try again", content_type = "text/html"),
    ))]
pub async fn authorize_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    authorize::authorize(state, req, body).await
}

/// A tenant issuer's authorization request sent as a form.
#[utoipa::path(post, path = "/t/{slug}/oauth/authorize", tag = "oidc",
    params(("slug" = String, Path, description = "The tenant's slug")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The sign-in or consent page", content_type = "text/html"),
        (status = 303, description = "Back to the client with `code` (or `error`), `state` and `iss`"),
        (status = 400, description = "An error page: the client or redirect URI is unknown", content_type = "text/html"),
        (status = 404, description = "An error page: no such issuer", content_type = "text/html"),
        (status = 503, description = "An error page: try again", content_type = "text/html"),
    ))]
pub async fn tenant_authorize_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    authorize::authorize(state, req, body).await
}

/// A revocation request (RFC 7009), `application/x-www-form-urlencoded`, with the client's
/// credentials as at the token endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOnlyForm {
    /// The token.
    pub token: String,
    /// `access_token` or `refresh_token` (a hint only).
    pub token_type_hint: Option<String>,
    /// The client (client_secret_post, none).
    pub client_id: Option<String>,
    /// The secret (client_secret_post).
    pub client_secret: Option<String>,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` (private_key_jwt).
    pub client_assertion_type: Option<String>,
    /// A JWT signed with one of the client's registered keys, RS256, ES256 or EdDSA
    /// (private_key_jwt).
    pub client_assertion: Option<String>,
}

macro_rules! issuer_pair {
    ($global:ident, $tenant:ident, $method:ident, $path:literal, $handler:path, $doc:literal,
     body = $body:ty, responses = [$($resp:tt)*]) => {
        #[doc = $doc]
        #[utoipa::path($method, path = $path, tag = "oidc",
            request_body(content = $body, content_type = "application/x-www-form-urlencoded"),
            responses($($resp)*))]
        pub async fn $global(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
            $handler(state, req, body).await
        }

        #[doc = $doc]
        #[doc = ""]
        #[doc = "At a tenant issuer: its clients only."]
        #[utoipa::path($method, path = concat!("/t/{slug}", $path), tag = "oidc",
            params(("slug" = String, Path, description = "The tenant's slug")),
            request_body(content = $body, content_type = "application/x-www-form-urlencoded"),
            responses($($resp)*,
                (status = 404, description = "No active tenant has this slug", body = crate::http::problem::Problem, content_type = "application/problem+json")))]
        pub async fn $tenant(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
            $handler(state, req, body).await
        }
    };
}

issuer_pair!(
    token,
    tenant_token,
    post,
    "/oauth/token",
    endpoints::token,
    "The token endpoint: a code or a refresh token for tokens (RFC 6749 section 3.2).",
    body = TokenForm,
    responses = [
        (status = 200, body = TokenAnswer),
        (status = 400, body = OAuthErrorBody),
        (
            status = 401,
            description = "The client could not be authenticated",
            body = OAuthErrorBody
        )
    ]
);

issuer_pair!(revoke, tenant_revoke, post, "/oauth/revoke", endpoints::revoke,
    "Revokes a token the calling client holds (RFC 7009): its grant ends. 200 whether or not the token was known.",
    body = TokenOnlyForm,
    responses = [
        (status = 200, description = "Revoked, or nothing to revoke"),
        (status = 400, body = OAuthErrorBody),
        (status = 401, description = "The client could not be authenticated", body = OAuthErrorBody)
    ]);

issuer_pair!(
    introspect,
    tenant_introspect,
    post,
    "/oauth/introspect",
    endpoints::introspect,
    "What an access token is (RFC 7662), for a confidential client of its tenant.",
    body = TokenOnlyForm,
    responses = [
        (
            status = 200,
            description = "`{active: false}`, or `active` with the token's claims",
            content_type = "application/json",
            body = Object
        ),
        (status = 400, body = OAuthErrorBody),
        (
            status = 401,
            description = "The client could not be authenticated, or is public",
            body = OAuthErrorBody
        )
    ]
);

/// RP-initiated logout: with an `id_token_hint` this issuer signed, the sign-in it names and
/// every grant opened from it end, and the browser returns to a registered
/// `post_logout_redirect_uri` (with `state`); without one, a page asks the user first.
#[utoipa::path(get, path = "/oauth/logout", tag = "oidc",
    params(
        ("id_token_hint" = Option<String>, Query, description = "An ID token this issuer signed"),
        ("client_id" = Option<String>, Query, description = "The client"),
        ("post_logout_redirect_uri" = Option<String>, Query, description = "One of the client's, exactly"),
        ("state" = Option<String>, Query, description = "Returned as sent"),
    ),
    responses(
        (status = 200, description = "Signed out, or the confirmation page", content_type = "text/html"),
        (status = 303, description = "Signed out; back to the client"),
        (status = 404, description = "An error page: no such issuer", content_type = "text/html"),
        (status = 503, description = "An error page: try again", content_type = "text/html"),
    ))]
pub async fn logout(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    authorize::logout(state, req).await
}

/// A tenant issuer's RP-initiated logout.
#[utoipa::path(get, path = "/t/{slug}/oauth/logout", tag = "oidc",
    params(
        ("slug" = String, Path, description = "The tenant's slug"),
        ("id_token_hint" = Option<String>, Query, description = "An ID token this issuer signed"),
        ("client_id" = Option<String>, Query, description = "The client"),
        ("post_logout_redirect_uri" = Option<String>, Query, description = "One of the client's, exactly"),
        ("state" = Option<String>, Query, description = "Returned as sent"),
    ),
    responses(
        (status = 200, description = "Signed out, or the confirmation page", content_type = "text/html"),
        (status = 303, description = "Signed out; back to the client"),
        (status = 404, description = "An error page: no such issuer", content_type = "text/html"),
        (status = 503, description = "An error page: try again", content_type = "text/html"),
    ))]
pub async fn tenant_logout(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    authorize::logout(state, req).await
}

/// RP-initiated logout as a form (the GET's parameters), or the user's confirmation from the
/// logout page (its `csrf` field must repeat the browser's token).
#[utoipa::path(post, path = "/oauth/logout", tag = "oidc",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Signed out, or the confirmation page", content_type = "text/html"),
        (status = 303, description = "Signed out; back to the client"),
        (status = 403, description = "An error page: the form's CSRF token is wrong", content_type = "text/html"),
        (status = 503, description = "An error page: try again", content_type = "text/html"),
    ))]
pub async fn logout_posted(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    authorize::logout_posted(state, req, body).await
}

/// A tenant issuer's RP-initiated logout as a form.
#[utoipa::path(post, path = "/t/{slug}/oauth/logout", tag = "oidc",
    params(("slug" = String, Path, description = "The tenant's slug")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Signed out, or the confirmation page", content_type = "text/html"),
        (status = 303, description = "Signed out; back to the client"),
        (status = 403, description = "An error page: the form's CSRF token is wrong", content_type = "text/html"),
        (status = 404, description = "An error page: no such issuer", content_type = "text/html"),
        (status = 503, description = "An error page: try again", content_type = "text/html"),
    ))]
pub async fn tenant_logout_posted(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    authorize::logout_posted(state, req, body).await
}
