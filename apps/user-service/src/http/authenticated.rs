//! The `Authenticated` extractor: a handler that takes it only runs for a caller with a valid
//! bearer token whose session is live.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use usvc_core::{CoreError, Principal};

use crate::http::problem::ApiError;
use crate::http::state::AppState;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer(req: &HttpRequest) -> Result<String, CoreError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| CoreError::Unauthenticated("a bearer token is required".into()))?;
    let value = value
        .to_str()
        .map_err(|_| CoreError::Unauthenticated("the Authorization header is malformed".into()))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(CoreError::Unauthenticated(
            "the Authorization header must be `Bearer <token>`".into(),
        )),
    }
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let origin = crate::http::origin::of(req);
        Box::pin(async move {
            let state =
                state.ok_or_else(|| CoreError::Internal("application state missing".into()))?;
            let mut principal = state.auth.authenticate(&token?).await?;
            principal.origin = origin;
            Ok(Self(principal))
        })
    }
}

/// The caller if the request carries an `Authorization` header (which must then be valid),
/// `None` if it carries none: for endpoints a bearer token or another proof can open.
pub async fn optional(req: &HttpRequest, state: &AppState) -> Result<Option<Principal>, ApiError> {
    if req.headers().contains_key(header::AUTHORIZATION) {
        let token = bearer(req)?;
        let mut principal = state.auth.authenticate(&token).await?;
        principal.origin = crate::http::origin::of(req);
        Ok(Some(principal))
    } else {
        Ok(None)
    }
}
