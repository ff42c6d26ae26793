//! `/api/v1/auth/mfa/…`: TOTP enrolment and confirmation, the code check that completes a
//! login, recovery codes, turning TOTP off.

use super::body;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use usvc_core::{CoreError, Password};
use usvc_user::MfaSubject;
use utoipa::ToSchema;

use crate::http::auth::{tokens, TokenResponse};
use crate::http::authenticated::{optional, Authenticated};
use crate::http::client_limit::ClientLimit;
use crate::http::origin::{self, ClientOrigin};
use crate::http::passkeys::PasskeyAnswer;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;

/// A second-factor check completing a login: a code, or a passkey's answer (one of them).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum VerifyRequest {
    /// A TOTP or recovery code.
    Code(CodeAnswer),
    /// A passkey's answer.
    Passkey(PasskeyFactor),
}

/// A code completing a login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeAnswer {
    /// The `mfa_token` the login returned.
    pub mfa_token: String,
    /// A 6-digit TOTP code, or an unused recovery code (`xxxx-xxxx-xxxx-xxxx`).
    #[schema(min_length = 1, max_length = 64)]
    pub code: String,
}

/// A passkey's answer completing a login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyFactor {
    /// The `mfa_token` the login returned.
    pub mfa_token: String,
    /// The answer to the ceremony the login returned (`passkey.state` and the device's
    /// `PublicKeyCredential`).
    pub passkey: PasskeyAnswer,
}

/// Completes a login with a TOTP code, a recovery code or a passkey.
#[utoipa::path(post, path = "/api/v1/auth/mfa/verify", tag = "mfa", request_body = VerifyRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, description = "Neither or both of `code` and `passkey`, a `passkey.state` not of this login, or not a credential", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong code or refused passkey, or an unknown, spent or expired mfa_token", body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Passkeys are unavailable (PUBLIC_URL names an IP address)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify(
    state: web::Data<AppState>,
    _limit: ClientLimit,
    origin: ClientOrigin,
    body: body::Json<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let pair = match body.into_inner() {
        VerifyRequest::Code(answer) => {
            state
                .auth
                .verify_mfa(&answer.mfa_token, &answer.code, &origin.0)
                .await?
        }
        VerifyRequest::Passkey(answer) => {
            let passkey = answer.passkey;
            state
                .auth
                .verify_mfa_passkey(
                    &answer.mfa_token,
                    &passkey.state,
                    &passkey.credential,
                    &origin.0,
                )
                .await?
        }
    };
    Ok(tokens(pair))
}

/// Enrolment (and confirmation) by a caller without a session yet.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The `mfa_token` of a login that answered `enrollment_required`; omit when sending a
    /// bearer token.
    pub mfa_token: Option<String>,
    /// Your password: required with a bearer token (a stolen session must not set up its
    /// thief's authenticator); not with an `mfa_token`, whose login just proved it.
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<Password>,
}

/// What an authenticator app needs.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollResponse {
    /// The secret in base32, to type in by hand.
    pub secret: String,
    /// `otpauth://totp/…`, for apps that take a link.
    pub otpauth_uri: String,
    /// The same as a QR code (an SVG document).
    pub qr_svg: String,
}

/// Who is asking: the bearer token's caller, or the holder of an enrolment `mfa_token`.
async fn subject(
    req: &HttpRequest,
    state: &AppState,
    mfa_token: Option<&str>,
) -> Result<(Option<usvc_core::Principal>, Option<String>), ApiError> {
    let caller = optional(req, state).await?;
    match (caller, mfa_token) {
        (Some(p), None) => Ok((Some(p), None)),
        (None, Some(t)) => Ok((None, Some(t.to_owned()))),
        (Some(_), Some(_)) => Err(CoreError::invalid(
            "mfa_token",
            "send a bearer token or an mfa_token, not both",
        )
        .into()),
        (None, None) => Err(CoreError::Unauthenticated(
            "a bearer token or an mfa_token is required".into(),
        )
        .into()),
    }
}

/// Starts TOTP enrolment (again, if not yet confirmed): a new secret, its URI and QR code.
#[utoipa::path(post, path = "/api/v1/auth/mfa/totp/enroll", tag = "mfa", request_body = Option<EnrollRequest>,
    security((), ("bearer" = [])),
    responses(
        (status = 200, body = EnrollResponse),
        (status = 400, description = "With a bearer token: the password missing or wrong", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "TOTP is already on", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Locked out after too many wrong codes or passwords (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn enroll(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: body::MaybeJson<EnrollRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0.unwrap_or_default();
    let (caller, token) = subject(&req, &state, body.mfa_token.as_deref()).await?;
    let origin = origin::of(&req);
    let who = match (&caller, &token) {
        (Some(p), _) => MfaSubject::Caller(p),
        (None, Some(t)) => MfaSubject::EnrollmentToken(t, &origin),
        (None, None) => return Err(CoreError::Internal("no subject".into()).into()),
    };
    let e = state.auth.enroll_totp(who, body.password.as_ref()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(EnrollResponse {
            secret: e.secret_base32,
            otpauth_uri: e.otpauth_uri,
            qr_svg: e.qr_svg,
        }))
}

/// A code from the freshly set-up authenticator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// The current 6-digit code.
    #[schema(pattern = "^\\s*[0-9]{6}\\s*$")]
    pub code: String,
    /// As for enrol: the enrolment `mfa_token` when there is no bearer token.
    pub mfa_token: Option<String>,
}

/// TOTP is on.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfirmResponse {
    /// Ten single-use recovery codes. Shown only now: store them somewhere safe.
    pub recovery_codes: Vec<String>,
    /// For an enrolment-required login: the tokens that complete it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenResponse>,
}

/// Turns TOTP on with a current code; returns ten recovery codes (and, after an
/// enrolment-required login, the tokens).
#[utoipa::path(post, path = "/api/v1/auth/mfa/totp/confirm", tag = "mfa", request_body = ConfirmRequest,
    security((), ("bearer" = [])),
    responses(
        (status = 200, body = ConfirmResponse),
        (status = 400, description = "Not the current code", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No pending enrolment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: body::Json<ConfirmRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (caller, token) = subject(&req, &state, body.mfa_token.as_deref()).await?;
    let origin = origin::of(&req);
    let who = match (&caller, &token) {
        (Some(p), _) => MfaSubject::Caller(p),
        (None, Some(t)) => MfaSubject::EnrollmentToken(t, &origin),
        (None, None) => return Err(CoreError::Internal("no subject".into()).into()),
    };
    let done = state.auth.confirm_totp(who, &body.code).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ConfirmResponse {
            recovery_codes: done.recovery_codes,
            tokens: done.tokens.map(TokenResponse::from),
        }))
}

/// Proof for turning TOTP off: a current code or the password.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableRequest {
    /// A current TOTP code.
    #[schema(pattern = "^\\s*[0-9]{6}\\s*$")]
    pub code: Option<String>,
    /// Or the account password.
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<Password>,
}

/// Turns TOTP off (not where the tenant requires MFA).
#[utoipa::path(delete, path = "/api/v1/auth/mfa/totp", tag = "mfa", request_body = DisableRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "TOTP is off; recovery codes are gone"),
        (status = 400, description = "Missing or wrong code/password", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The tenant requires MFA", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "TOTP is not on", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Locked out after too many wrong codes or passwords (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn disable(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: body::Json<DisableRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .auth
        .disable_totp(&caller.0, body.code.as_deref(), body.password.as_ref())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A current code, to prove the authenticator is still in hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegenerateRequest {
    /// A current 6-digit TOTP code.
    #[schema(pattern = "^\\s*[0-9]{6}\\s*$")]
    pub code: String,
}

/// New recovery codes.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes; the previous ones no longer work.
    pub recovery_codes: Vec<String>,
}

/// Replaces the recovery codes.
#[utoipa::path(post, path = "/api/v1/auth/mfa/recovery-codes", tag = "mfa", request_body = RegenerateRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = RecoveryCodes),
        (status = 400, description = "Not the current code", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "TOTP is not on", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Locked out after too many wrong codes or passwords (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn regenerate(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: body::Json<RegenerateRequest>,
) -> Result<HttpResponse, ApiError> {
    let recovery_codes = state
        .auth
        .regenerate_recovery_codes(&caller.0, &body.code)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(RecoveryCodes { recovery_codes }))
}
