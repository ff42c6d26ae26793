//! `/api/v1/auth/passkeys`: the caller's passkeys (docs/passkeys.md). Registering one takes
//! two calls around the browser's `navigator.credentials.create`: begin (options and a sealed
//! state), then finish (the browser's answer, the state and a name).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use usvc_core::{Passkey, PasskeyId, Password};
use usvc_user::BegunCeremony;
use utoipa::ToSchema;

use crate::http::auth::{tokens, TokenResponse};
use crate::http::authenticated::Authenticated;
use crate::http::body;
use crate::http::client_limit::ClientLimit;
use crate::http::origin;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;

/// A passkey as its owner sees it (nothing of the key itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyView {
    /// Its id.
    pub id: String,
    /// What the user calls it.
    pub name: String,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last signed the user in.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<Passkey> for PasskeyView {
    fn from(p: Passkey) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

/// The caller's passkeys, in the API's list shape (all fit one page).
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyList {
    /// Oldest first.
    pub items: Vec<PasskeyView>,
    /// Always `null`.
    pub next_cursor: Option<String>,
}

/// A ceremony begun (a registration, a sign-in, or a login's second factor).
#[derive(Debug, Serialize, ToSchema)]
pub struct CeremonyOptions {
    /// For `navigator.credentials.create(...)` or `.get(...)` (binary fields base64url:
    /// decode `challenge`, `user.id` and each credential `id` to bytes first).
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    /// Send it back with the answer, within five minutes.
    pub state: String,
}

impl From<BegunCeremony> for CeremonyOptions {
    fn from(begun: BegunCeremony) -> Self {
        Self {
            options: begun.options,
            state: begun.state,
        }
    }
}

/// A registration finished.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPasskey {
    /// The `state` from the beginning.
    #[schema(max_length = 16384)]
    pub state: String,
    /// What to call it ("Work laptop"), 1-64 characters.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// The browser's `PublicKeyCredential` (binary fields base64url).
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// A passkey's answer to a ceremony the service began (a sign-in, or a login's second factor).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyAnswer {
    /// The `state` from the beginning.
    #[schema(max_length = 16384)]
    pub state: String,
    /// The browser's `PublicKeyCredential` (binary fields base64url).
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// A new name.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRename {
    /// 1-64 characters.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
}

/// The passkey an id in a path names: one that is not an id names none of mine.
fn passkey_id(raw: &str) -> Result<PasskeyId, ApiError> {
    raw.parse::<uuid::Uuid>()
        .map(PasskeyId::from_uuid)
        .map_err(|_| usvc_core::CoreError::NotFound("passkey".into()).into())
}

/// My passkeys.
#[utoipa::path(get, path = "/api/v1/auth/passkeys", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, body = PasskeyList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let items = state
        .passkeys
        .list(&caller.0)
        .await?
        .into_iter()
        .map(PasskeyView::from)
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(PasskeyList {
            items,
            next_cursor: None,
        }))
}

/// Your password, proving a session is still yours before a lasting credential is added.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reauthentication {
    /// Your password (a wrong one counts toward the lockout).
    #[schema(value_type = String, format = Password)]
    pub password: Password,
}

/// Begins registering a passkey: options for the browser and a state to send back. Takes
/// your password: a stolen session must not add its thief's passkey.
#[utoipa::path(post, path = "/api/v1/auth/passkeys/registration", tag = "auth", security(("bearer" = [])),
    request_body = Reauthentication,
    responses(
        (status = 200, body = CeremonyOptions),
        (status = 400, description = "The password is missing or not right", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An application's token (passkeys are registered by the user)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already 20 passkeys", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The account is locked (too many wrong passwords)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Passkeys are unavailable (PUBLIC_URL names an IP address)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn begin(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: body::Json<Reauthentication>,
) -> Result<HttpResponse, ApiError> {
    state.passkeys.first_party(&caller.0).await?;
    let fresh = state
        .auth
        .reauthenticate(&caller.0, &body.into_inner().password)
        .await?;
    let begun = state.passkeys.begin_registration(&caller.0, &fresh).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(CeremonyOptions::from(begun)))
}

/// Finishes registering a passkey with the browser's answer.
#[utoipa::path(post, path = "/api/v1/auth/passkeys", tag = "auth", security(("bearer" = [])),
    request_body = NewPasskey,
    responses(
        (status = 201, body = PasskeyView),
        (status = 400, description = "A bad name, a state not begun by this user in the last five minutes, or an answer that does not verify", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An application's token (passkeys are registered by the user)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "This passkey is already registered", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Passkeys are unavailable (PUBLIC_URL names an IP address)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn finish(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: body::Json<NewPasskey>,
) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner();
    let passkey = state
        .passkeys
        .finish_registration(&caller.0, &new.state, &new.name, &new.credential)
        .await?;
    Ok(HttpResponse::Created().json(PasskeyView::from(passkey)))
}

/// Renames one of my passkeys.
#[utoipa::path(patch, path = "/api/v1/auth/passkeys/{passkey_id}", tag = "auth", security(("bearer" = [])),
    params(("passkey_id" = String, Path, description = "A passkey id from the list")),
    request_body = PasskeyRename,
    responses(
        (status = 200, body = PasskeyView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such passkey of mine", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rename(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
    body: body::Json<PasskeyRename>,
) -> Result<HttpResponse, ApiError> {
    let passkey = state
        .passkeys
        .rename(&caller.0, passkey_id(&id)?, &body.into_inner().name)
        .await?;
    Ok(HttpResponse::Ok().json(PasskeyView::from(passkey)))
}

/// Removes one of my passkeys: it signs nobody in any more.
#[utoipa::path(delete, path = "/api/v1/auth/passkeys/{passkey_id}", tag = "auth", security(("bearer" = [])),
    params(("passkey_id" = String, Path, description = "A passkey id from the list")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such passkey of mine", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.passkeys.remove(&caller.0, passkey_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Begins a sign-in with a passkey alone (no name typed: the device offers its passkeys).
#[utoipa::path(post, path = "/api/v1/auth/passkeys/sign-in", tag = "auth",
    responses(
        (status = 200, body = CeremonyOptions),
        (status = 429, description = "Too many requests (AUTH_RATE_LIMIT per client IP)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Passkeys are unavailable (PUBLIC_URL names an IP address)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn begin_sign_in(
    state: web::Data<AppState>,
    _limit: ClientLimit,
) -> Result<HttpResponse, ApiError> {
    let begun = state.passkeys.begin_sign_in()?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(CeremonyOptions::from(begun)))
}

/// Signs in with a passkey: the device's answer to the sign-in begun. A passkey with user
/// verification is two factors: no second factor is asked.
#[utoipa::path(post, path = "/api/v1/auth/login/passkey", tag = "auth", request_body = PasskeyAnswer,
    responses(
        (status = 200, description = "Tokens", body = TokenResponse),
        (status = 400, description = "A state not begun in the last five minutes, or not a credential", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The answer does not sign anyone in (one answer for every reason)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests (AUTH_RATE_LIMIT per client IP)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Passkeys are unavailable (PUBLIC_URL names an IP address)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sign_in(
    state: web::Data<AppState>,
    _limit: ClientLimit,
    req: HttpRequest,
    body: body::Json<PasskeyAnswer>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let origin = origin::of(&req);
    let signed_in = state
        .passkeys
        .finish_sign_in(&body.state, &body.credential, &origin, None)
        .await?;
    let pair = state
        .auth
        .passkey_login(signed_in.tenant, signed_in.user, origin)
        .await?;
    Ok(tokens(pair))
}
