//! `POST /api/v1/auth/login`, `/refresh`, `/logout` (docs/design.md section 5).

use super::body;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use usvc_core::Password;
use usvc_user::{LoginOutcome, TokenPair, DEFAULT_TENANT};
use utoipa::ToSchema;

use crate::http::authenticated::Authenticated;
use crate::http::client_limit::ClientLimit;
use crate::http::origin::{self, ClientOrigin};
use crate::http::passkeys::CeremonyOptions;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;

/// Login input.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Tenant slug; `default` when omitted.
    #[schema(
        min_length = 2,
        max_length = 63,
        pattern = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
    )]
    pub tenant: Option<String>,
    /// Email address.
    #[schema(
        max_length = 254,
        pattern = "^\\s*[^\\s@\\u0000-\\u001f\\u007f-\\u009f]{1,64}@[^\\s@.\\u0000-\\u001f\\u007f-\\u009f][^\\s@\\u0000-\\u001f\\u007f-\\u009f]*\\.[^\\s@\\u0000-\\u001f\\u007f-\\u009f]*[^\\s@.\\u0000-\\u001f\\u007f-\\u009f]\\s*$"
    )]
    pub email: String,
    /// Password.
    #[schema(value_type = String, format = Password)]
    pub password: Password,
}

/// A token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// JWT access token (EdDSA); send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Opaque refresh token, usable once at `/api/v1/auth/refresh`.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The session both tokens belong to.
    pub session_id: String,
}

impl From<TokenPair> for TokenResponse {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            token_type: "Bearer",
            expires_in: pair.expires_in,
            session_id: pair.session_id.to_string(),
        }
    }
}

/// The login answer when a second factor is needed.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaRequired {
    /// Always `true`.
    pub mfa_required: bool,
    /// Present with a code at `/api/v1/auth/mfa/verify` (five minutes, five tries); with
    /// `enrollment_required`, use it at `/api/v1/auth/mfa/totp/enroll` and `/confirm` instead.
    pub mfa_token: String,
    /// The second factors the user holds (`totp`, `recovery_code`, `passkey`); with
    /// `enrollment_required`, `totp` (what to enrol).
    pub methods: Vec<&'static str>,
    /// The tenant requires MFA and the user has none: enrol TOTP first.
    pub enrollment_required: bool,
    /// With `passkey` among the methods: the ceremony to answer with one of the user's
    /// passkeys (`navigator.credentials.get(options)`), sent back to `/api/v1/auth/mfa/verify`
    /// as `passkey: {state, credential}` with the `mfa_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passkey: Option<CeremonyOptions>,
}

/// Tokens must not be cached anywhere (RFC 6749 section 5.1).
pub(crate) fn tokens(pair: TokenPair) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(TokenResponse::from(pair))
}

/// Logs in with a password. With MFA on, the answer is an `mfa_token` to complete at
/// `/api/v1/auth/mfa/verify` instead of tokens.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Tokens, or an MFA challenge", body = TokenResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong tenant, email or password (one answer for all)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The account is not active", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests (AUTH_RATE_LIMIT per client IP, or the account lockout)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    state: web::Data<AppState>,
    _limit: ClientLimit,
    req: HttpRequest,
    body: body::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let tenant = body.tenant.as_deref().unwrap_or(DEFAULT_TENANT);
    let outcome = state
        .auth
        .login(tenant, &body.email, &body.password, origin::of(&req))
        .await?;
    Ok(match outcome {
        LoginOutcome::Tokens(pair) => tokens(pair),
        LoginOutcome::MfaRequired {
            mfa_token,
            enroll,
            methods,
            passkey,
        } => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(MfaRequired {
                mfa_required: true,
                mfa_token,
                methods,
                enrollment_required: enroll,
                passkey: passkey.map(CeremonyOptions::from),
            }),
    })
}

/// Refresh input.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The current refresh token.
    pub refresh_token: String,
}

/// Trades a refresh token for a new pair; the old one is spent. Presenting a spent token
/// revokes the whole session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, description = "Unknown, spent or expired refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests (AUTH_RATE_LIMIT per client IP, or the account lockout)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    _limit: ClientLimit,
    origin: ClientOrigin,
    body: body::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(tokens(
        state.auth.refresh(&body.refresh_token, &origin.0).await?,
    ))
}

/// Ends the caller's session; its tokens stop working.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    state.auth.logout(&caller.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Self-registration input.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Tenant slug; `default` when omitted.
    #[schema(
        min_length = 2,
        max_length = 63,
        pattern = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
    )]
    pub tenant: Option<String>,
    /// Email address.
    #[schema(
        max_length = 254,
        pattern = "^\\s*[^\\s@\\u0000-\\u001f\\u007f-\\u009f]{1,64}@[^\\s@.\\u0000-\\u001f\\u007f-\\u009f][^\\s@\\u0000-\\u001f\\u007f-\\u009f]*\\.[^\\s@\\u0000-\\u001f\\u007f-\\u009f]*[^\\s@.\\u0000-\\u001f\\u007f-\\u009f]\\s*$"
    )]
    pub email: String,
    /// Password: 8-256 characters, not the email, not a common password.
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 256)]
    pub password: Password,
    /// Name to show.
    #[schema(
        max_length = 200,
        pattern = "^\\s*[^\\u0000-\\u001f\\u007f-\\u009f]*\\s*$"
    )]
    pub display_name: Option<String>,
    /// Given name.
    #[schema(
        max_length = 100,
        pattern = "^\\s*[^\\u0000-\\u001f\\u007f-\\u009f]*\\s*$"
    )]
    pub given_name: Option<String>,
    /// Family name.
    #[schema(
        max_length = 100,
        pattern = "^\\s*[^\\u0000-\\u001f\\u007f-\\u009f]*\\s*$"
    )]
    pub family_name: Option<String>,
    /// BCP 47 tag.
    #[schema(
        max_length = 35,
        pattern = "^\\s*(?:[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3})?\\s*$"
    )]
    pub locale: Option<String>,
    /// IANA zone.
    #[schema(
        max_length = 64,
        pattern = "^\\s*(?:[A-Z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*)?\\s*$"
    )]
    pub timezone: Option<String>,
}

/// The registration answer: the same whether or not the address was free.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterResponse {
    /// Always `accepted`.
    pub status: &'static str,
    /// What to do next.
    pub message: &'static str,
}

/// Registers a `member` where the tenant allows self-registration. The answer does not say
/// whether the email already had an account (no account enumeration).
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 202, body = RegisterResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Self-registration is closed (or the tenant unknown)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests (AUTH_RATE_LIMIT per client IP, or the account lockout)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register(
    state: web::Data<AppState>,
    _limit: ClientLimit,
    origin: ClientOrigin,
    body: body::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let registration = usvc_user::Registration {
        tenant: b.tenant.unwrap_or_else(|| DEFAULT_TENANT.to_owned()),
        email: b.email,
        password: b.password,
        profile: usvc_user::ProfileChanges {
            display_name: b.display_name.map(Some),
            given_name: b.given_name.map(Some),
            family_name: b.family_name.map(Some),
            locale: b.locale.map(Some),
            timezone: b.timezone.map(Some),
            ..usvc_user::ProfileChanges::default()
        },
    };
    if let Some(user) = state.users.register(registration, &origin.0).await? {
        // The account exists either way; a mail problem must not turn it into an error.
        if let Err(e) = state.auth.send_verification_to(&user).await {
            tracing::warn!(error = %e, "verification mail not sent");
        }
    }
    Ok(HttpResponse::Accepted().json(RegisterResponse {
        status: "accepted",
        message: "If this address can be registered, its account is ready: log in with it, \
                  and confirm the address with the link we mailed.",
    }))
}

/// Password change input.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password in use now.
    #[schema(value_type = String, format = Password)]
    pub current_password: Password,
    /// The new one (policy-checked).
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 256)]
    pub new_password: Password,
}

/// Changes the caller's password; every other session of theirs ends.
#[utoipa::path(post, path = "/api/v1/auth/password/change", tag = "auth", request_body = PasswordChange,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed; other sessions revoked"),
        (status = 400, description = "Wrong current password or a weak new one", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: body::Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    state
        .auth
        .change_password(&caller.0, &body.current_password, &body.new_password)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
