//! The OpenID provider over HTTP (docs/oidc.md): discovery, the token endpoint and
//! `userinfo` (`endpoints`), the browser's flow and the hosted pages (`authorize`, `pages`,
//! `cookies`). Each issuer-bound route exists at the service-wide issuer and under
//! `/t/{slug}`.

pub mod authorize;
pub mod cookies;
pub mod endpoints;
pub mod pages;

use actix_web::web;

use crate::http::resource;

/// The provider's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    for base in ["", "/t/{slug}"] {
        cfg.service(
            resource(&format!("{base}/.well-known/openid-configuration"), "GET")
                .route(web::get().to(endpoints::discovery)),
        )
        .service(
            resource(&format!("{base}/oauth/authorize"), "GET, POST")
                .route(web::get().to(authorize::authorize))
                .route(web::post().to(authorize::authorize)),
        )
        .service(
            resource(&format!("{base}/oauth/token"), "POST")
                .route(web::post().to(endpoints::token)),
        )
        .service(
            resource(&format!("{base}/oauth/userinfo"), "GET, POST")
                .route(web::get().to(endpoints::userinfo))
                .route(web::post().to(endpoints::userinfo)),
        );
    }
    // RFC 8414 section 3: the metadata of an issuer with a path lives under the well-known
    // prefix, the path after it.
    cfg.service(
        resource("/.well-known/oauth-authorization-server", "GET")
            .route(web::get().to(endpoints::discovery)),
    )
    .service(
        resource("/.well-known/oauth-authorization-server/t/{slug}", "GET")
            .route(web::get().to(endpoints::discovery)),
    )
    .service(resource("/oauth/login", "POST").route(web::post().to(authorize::login)))
    .service(resource("/oauth/login/mfa", "POST").route(web::post().to(authorize::login_mfa)))
    .service(resource("/oauth/consent", "POST").route(web::post().to(authorize::consent)))
    .service(resource("/oauth/assets/style.css", "GET").route(web::get().to(authorize::style)));
}
