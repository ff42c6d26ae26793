//! `GET /api/v1/users/profile`: the caller's own profile.

use actix_web::{web, HttpResponse};

use crate::http::authenticated::Authenticated;
use crate::http::problem::{ApiError, Problem};
use crate::state::AppState;

/// The caller's profile.
#[utoipa::path(get, path = "/api/v1/users/profile", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile: id, tenant_id, email, email_verified, names, locale, timezone, avatar_url, metadata, roles, status, mfa_enabled, timestamps"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_profile(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let user = state.auth.profile(&caller.0).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(user))
}
