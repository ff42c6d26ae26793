//! `/api/v1/auth/password/forgot`, `/password/reset`, `/verify-email`: the mailed-link flows.

use super::body;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use usvc_core::Password;
use usvc_user::DEFAULT_TENANT;
use utoipa::ToSchema;

use crate::http::authenticated::Authenticated;
use crate::http::client_limit::ClientLimit;
use crate::http::origin::ClientOrigin;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;

/// Who forgot their password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotRequest {
    /// Tenant slug; `default` when omitted.
    #[schema(
        min_length = 2,
        max_length = 63,
        pattern = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
    )]
    pub tenant: Option<String>,
    /// The account's email.
    #[schema(
        max_length = 254,
        pattern = "^\\s*[^\\s@\\u0000-\\u001f\\u007f-\\u009f]{1,64}@[^\\s@.\\u0000-\\u001f\\u007f-\\u009f][^\\s@\\u0000-\\u001f\\u007f-\\u009f]*\\.[^\\s@\\u0000-\\u001f\\u007f-\\u009f]*[^\\s@.\\u0000-\\u001f\\u007f-\\u009f]\\s*$"
    )]
    pub email: String,
}

/// The same answer whatever happened.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// Always `accepted`.
    pub status: &'static str,
    /// What to expect.
    pub message: &'static str,
}

/// Mails a reset link (30 minutes, single use) if the account exists; answers the same
/// either way.
#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "auth", request_body = ForgotRequest,
    responses(
        (status = 202, body = Accepted),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests (AUTH_RATE_LIMIT per client IP, or the account lockout)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn forgot(
    state: web::Data<AppState>,
    _limit: ClientLimit,
    body: body::Json<ForgotRequest>,
) -> Result<HttpResponse, ApiError> {
    let tenant = body.tenant.as_deref().unwrap_or(DEFAULT_TENANT);
    state.auth.forgot_password(tenant, &body.email).await?;
    Ok(HttpResponse::Accepted().json(Accepted {
        status: "accepted",
        message: "If an account has this address, a reset link is on its way.",
    }))
}

/// A new password with the token from the reset link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// The token from the link.
    pub token: String,
    /// The new password (policy-checked).
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 256)]
    pub new_password: Password,
}

/// Sets a new password; every session of the account ends.
#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "auth", request_body = ResetRequest,
    responses(
        (status = 204, description = "Changed; log in with the new password"),
        (status = 400, description = "Invalid, used or expired token, or a weak password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests (AUTH_RATE_LIMIT per client IP, or the account lockout)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reset(
    state: web::Data<AppState>,
    _limit: ClientLimit,
    origin: ClientOrigin,
    body: body::Json<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .auth
        .reset_password(&body.token, &body.new_password, &origin.0)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The token from a verification link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailRequest {
    /// The token from the link.
    pub token: String,
}

/// Proves the address the link was sent to.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = VerifyEmailRequest,
    responses(
        (status = 204, description = "The address is verified"),
        (status = 400, description = "Invalid, used or expired token (or the address changed since)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests (AUTH_RATE_LIMIT per client IP, or the account lockout)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_email(
    state: web::Data<AppState>,
    _limit: ClientLimit,
    origin: ClientOrigin,
    body: body::Json<VerifyEmailRequest>,
) -> Result<HttpResponse, ApiError> {
    state.auth.verify_email(&body.token, &origin.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mails the caller a new verification link (24 hours).
#[utoipa::path(post, path = "/api/v1/auth/verify-email/send", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 202, body = Accepted),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already verified", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn send_verification(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    state.auth.send_verification(&caller.0).await?;
    Ok(HttpResponse::Accepted().json(Accepted {
        status: "accepted",
        message: "A verification link is on its way.",
    }))
}
