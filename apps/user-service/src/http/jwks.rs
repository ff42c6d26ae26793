//! `GET /.well-known/jwks.json`: the public keys that verify access tokens, so other services
//! verify tokens locally instead of calling this one.

use actix_web::{web, HttpResponse};

use crate::http::state::AppState;
use usvc_core::ports::TokenService as _;

/// The JSON Web Key Set: every key that may still verify a live token, the signing key first.
/// Cacheable for a minute; a verifier that meets an unknown `kid` should fetch it again.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth",
    responses((status = 200, description = "JSON Web Key Set (RFC 7517) of Ed25519 keys", content_type = "application/json")))]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=60"))
        .json(state.tokens.jwks())
}
