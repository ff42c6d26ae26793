//! The OpenID provider over HTTP (docs/oidc.md): discovery, the token endpoint and
//! `userinfo` (`endpoints`, with `cors` for browser applications), the browser's flow and the
//! hosted pages (`authorize`, `pages`, `brand`, `cookies`), and the signed-in browser's own
//! passkeys (`account`), account recovery (`recovery`: forgot password, the mailed reset and
//! verification links) and registration (`register`). Each issuer-bound route exists at the service-wide issuer and under
//! `/t/{slug}`.

pub mod account;
pub mod authorize;
pub mod brand;
pub mod cookies;
pub mod cors;
pub mod endpoints;
pub mod openapi;
pub mod pages;
pub mod recovery;
pub mod register;

use actix_web::http::Method;
use actix_web::web;

use crate::http::resource;

/// The provider's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/.well-known/openid-configuration", "GET")
            .route(web::get().to(openapi::discovery)),
    )
    .service(
        resource("/t/{slug}/.well-known/openid-configuration", "GET")
            .route(web::get().to(openapi::tenant_discovery)),
    )
    // RFC 8414 section 3: the metadata of an issuer with a path lives under the well-known
    // prefix, the path after it.
    .service(
        resource("/.well-known/oauth-authorization-server", "GET")
            .route(web::get().to(openapi::metadata)),
    )
    .service(
        resource("/.well-known/oauth-authorization-server/t/{slug}", "GET")
            .route(web::get().to(openapi::tenant_metadata)),
    )
    .service(
        resource("/oauth/authorize", "GET, POST")
            .route(web::get().to(openapi::authorize))
            .route(web::post().to(openapi::authorize_form)),
    )
    .service(
        resource("/t/{slug}/oauth/authorize", "GET, POST")
            .route(web::get().to(openapi::tenant_authorize))
            .route(web::post().to(openapi::tenant_authorize_form)),
    )
    .service(
        resource("/oauth/token", "POST, OPTIONS")
            .route(web::post().to(openapi::token))
            .route(web::method(Method::OPTIONS).to(cors::preflight)),
    )
    .service(
        resource("/t/{slug}/oauth/token", "POST, OPTIONS")
            .route(web::post().to(openapi::tenant_token))
            .route(web::method(Method::OPTIONS).to(cors::preflight)),
    )
    .service(
        resource("/oauth/userinfo", "GET, POST, OPTIONS")
            .route(web::get().to(openapi::userinfo))
            .route(web::post().to(openapi::userinfo_post))
            .route(web::method(Method::OPTIONS).to(cors::preflight)),
    )
    .service(
        resource("/t/{slug}/oauth/userinfo", "GET, POST, OPTIONS")
            .route(web::get().to(openapi::tenant_userinfo))
            .route(web::post().to(openapi::tenant_userinfo_post))
            .route(web::method(Method::OPTIONS).to(cors::preflight)),
    )
    .service(
        resource("/oauth/revoke", "POST, OPTIONS")
            .route(web::post().to(openapi::revoke))
            .route(web::method(Method::OPTIONS).to(cors::preflight)),
    )
    .service(
        resource("/t/{slug}/oauth/revoke", "POST, OPTIONS")
            .route(web::post().to(openapi::tenant_revoke))
            .route(web::method(Method::OPTIONS).to(cors::preflight)),
    )
    .service(resource("/oauth/introspect", "POST").route(web::post().to(openapi::introspect)))
    .service(
        resource("/t/{slug}/oauth/introspect", "POST")
            .route(web::post().to(openapi::tenant_introspect)),
    )
    .service(
        resource("/oauth/logout", "GET, POST")
            .route(web::get().to(openapi::logout))
            .route(web::post().to(openapi::logout_posted)),
    )
    .service(
        resource("/t/{slug}/oauth/logout", "GET, POST")
            .route(web::get().to(openapi::tenant_logout))
            .route(web::post().to(openapi::tenant_logout_posted)),
    )
    .configure(hosted_pages);
}

/// The hosted pages' own routes (sign-in, second factor, consent, registration, recovery,
/// the account's passkeys, assets): the same for every issuer.
fn hosted_pages(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/oauth/login", "GET, POST")
            .route(web::get().to(authorize::login_page))
            .route(web::post().to(authorize::login)),
    )
    .service(
        resource("/oauth/password/forgot", "GET, POST")
            .route(web::get().to(recovery::forgot_page))
            .route(web::post().to(recovery::forgot)),
    )
    .service(
        resource("/reset-password", "GET, POST")
            .route(web::get().to(recovery::reset_page))
            .route(web::post().to(recovery::reset)),
    )
    .service(
        resource("/verify-email", "GET, POST")
            .route(web::get().to(recovery::verify_page))
            .route(web::post().to(recovery::verify)),
    )
    .service(
        resource("/oauth/register", "GET, POST")
            .route(web::get().to(register::register_page))
            .route(web::post().to(register::register)),
    )
    .service(resource("/oauth/login/mfa", "POST").route(web::post().to(authorize::login_mfa)))
    .service(
        resource("/oauth/login/passkey", "POST").route(web::post().to(authorize::login_passkey)),
    )
    .service(resource("/oauth/account", "GET").route(web::get().to(account::account)))
    .service(resource("/oauth/account/passkeys", "POST").route(web::post().to(account::passkeys)))
    .service(resource("/oauth/assets/passkey.js", "GET").route(web::get().to(authorize::script)))
    .service(resource("/oauth/consent", "POST").route(web::post().to(authorize::consent)))
    .service(resource("/oauth/assets/style.css", "GET").route(web::get().to(authorize::style)));
}
