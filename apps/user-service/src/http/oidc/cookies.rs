//! The hosted pages' two cookies: the browser's sign-in (`usvc_op`, sealed, `HttpOnly`) and
//! the CSRF token every form repeats (`usvc_csrf`: a request forged from another site cannot
//! read it, so it cannot repeat it). Both `SameSite=Lax`; over https both are `Secure` and
//! named `__Host-…`, which a sibling subdomain cannot set (so it cannot plant a token, or a
//! sign-in, of its own).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use usvc_core::ports::OpaqueTokens as _;

/// The browser's sign-in cookie's name.
pub fn browser(secure: bool) -> String {
    named("usvc_op", secure)
}

/// The CSRF cookie's name.
pub fn csrf(secure: bool) -> String {
    named("usvc_csrf", secure)
}

fn named(name: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{name}")
    } else {
        name.to_owned()
    }
}

/// The value of cookie `name` on `req`.
pub fn get(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Adds `Set-Cookie` for `name` = `value` (`None`: delete it).
pub fn set(res: &mut HttpResponse, name: &str, value: Option<&str>, secure: bool) {
    let lifetime = if value.is_some() { "" } else { "; Max-Age=0" };
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!(
        "{name}={}; Path=/; HttpOnly; SameSite=Lax{secure}{lifetime}",
        value.unwrap_or_default()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The browser's CSRF token, and whether it is new (to be set on the response).
pub fn csrf_token(req: &HttpRequest, secure: bool) -> (String, bool) {
    match get(req, &csrf(secure)).filter(|t| t.len() >= 32) {
        Some(token) => (token, false),
        None => (
            usvc_security::RandomTokens
                .generate()
                .map(|t| t.token)
                .unwrap_or_default(),
            true,
        ),
    }
}

/// Sets a CSRF token new to this browser (from [`csrf_token`]) as its cookie.
pub fn give_csrf(res: &mut HttpResponse, token: &str, secure: bool) {
    set(res, &csrf(secure), Some(token), secure);
}

/// Whether a form's `csrf` field repeats the browser's cookie.
pub fn csrf_ok(req: &HttpRequest, field: &str, secure: bool) -> bool {
    get(req, &csrf(secure)).is_some_and(|cookie| {
        // Compared in constant time: the token is a secret of the browser.
        cookie.len() >= 32
            && usvc_core::secret::constant_time_eq(cookie.as_bytes(), field.as_bytes())
    })
}
