//! The hosted pages, rendered on the server from templates compiled into the binary (nothing
//! fetched from elsewhere; one small script of ours for passkeys): sign-in, second factor,
//! consent, the account's passkeys, errors.

use std::sync::LazyLock;

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use minijinja::Environment;
use serde::Serialize;

use crate::http::oidc::brand::Brand;

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Each page is its content inside the one frame (`base.html`), put together here once:
    // the templating engine runs without template inheritance (the workflow engine's
    // templates are held to that). `.html` names are escaped automatically: every value a
    // user or client sent is text.
    let base = include_str!("templates/base.html");
    for (name, content) in [
        ("sign_in.html", include_str!("templates/sign_in.html")),
        ("mfa.html", include_str!("templates/mfa.html")),
        ("consent.html", include_str!("templates/consent.html")),
        ("error.html", include_str!("templates/error.html")),
        ("logout.html", include_str!("templates/logout.html")),
        ("signed_out.html", include_str!("templates/signed_out.html")),
        ("account.html", include_str!("templates/account.html")),
        ("forgot.html", include_str!("templates/forgot.html")),
        ("reset.html", include_str!("templates/reset.html")),
        ("verify.html", include_str!("templates/verify.html")),
        ("notice.html", include_str!("templates/notice.html")),
        ("register.html", include_str!("templates/register.html")),
    ] {
        let page = base.replace("@@CONTENT@@", content);
        if let Err(e) = env.add_template_owned(name, page) {
            tracing::error!(error = %e, template = name, "a hosted page does not compile");
        }
    }
    env
});

/// The style sheet every page links.
pub const STYLE: &str = include_str!("templates/style.css");

/// The script every page links: passkey ceremonies (`navigator.credentials`).
pub const PASSKEY_SCRIPT: &str = include_str!("templates/passkey.js");

/// What every page shows: whose sign-in it is and for which application.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Frame {
    /// The tenant's name, logo and colours.
    pub brand: Brand,
    /// The application's name, if known.
    pub client_name: Option<String>,
    /// An error to announce (`role="alert"`).
    pub error: Option<String>,
    /// The sealed authorization request.
    pub req: String,
    /// The CSRF token of the browser.
    pub csrf: String,
}

/// The page `name` with `frame` and `extra` values, with `status`. Pages are never cached
/// and never framed; their script and styles come from here only (no inline script).
pub fn render(
    status: StatusCode,
    name: &str,
    frame: &Frame,
    extra: serde_json::Value,
) -> HttpResponse {
    let mut context = serde_json::to_value(frame).unwrap_or_default();
    if let Some(all) = context.as_object_mut() {
        all.insert("heading".into(), heading(name).into());
        if let serde_json::Value::Object(more) = extra {
            all.extend(more);
        }
    }
    let body = TEMPLATES
        .get_template(name)
        .and_then(|t| t.render(&context))
        .map_err(|e| {
            tracing::error!(error = %e, page = name, "a hosted page failed to render");
            e
        })
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, page = name, "a hosted page failed to render");
            "<!doctype html><title>Error</title><p>Something went wrong.</p>".to_owned()
        });
    // The tenant's colours are the one inline style, allowed by its hash alone.
    let style_src = frame
        .brand
        .style_source()
        .map_or_else(|| "'self'".to_owned(), |hash| format!("'self' {hash}"));
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // Links carry sealed requests and mailed tokens: none leaves in a Referer (a tenant's
        // logo comes from elsewhere).
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!("default-src 'none'; script-src 'self'; style-src {style_src}; img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'"),
        ))
        .body(body)
}

/// Each page's heading (and title).
fn heading(page: &str) -> &'static str {
    match page {
        "sign_in.html" => "Sign in",
        "mfa.html" => "Confirm it is you",
        "consent.html" => "Allow access?",
        "logout.html" => "Sign out",
        "signed_out.html" => "Signed out",
        "account.html" => "Your account",
        "forgot.html" => "Forgot your password?",
        "reset.html" => "Choose a new password",
        "verify.html" => "Confirm your address",
        "register.html" => "Create an account",
        "notice.html" => "Done",
        _ => "Cannot continue",
    }
}

/// A form without the browser's CSRF token (sent from another site, or a stale page).
pub fn forged_form() -> HttpResponse {
    error(
        StatusCode::FORBIDDEN,
        "",
        "this form was not sent from this site's page (its security token is missing or wrong): reload and try again",
    )
}

/// Field errors as one sentence for a page (`password: too short; email: …`).
pub fn sentence(errors: &[usvc_core::FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field.replace('_', " "), e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The error page: nothing is sent back to the application (it could not be trusted with
/// an answer), the user is told what went wrong.
pub fn error(status: StatusCode, tenant_name: &str, message: &str) -> HttpResponse {
    let frame = Frame {
        brand: Brand::named(tenant_name),
        error: Some(message.to_owned()),
        ..Frame::default()
    };
    render(status, "error.html", &frame, serde_json::json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_compiles_and_escapes_what_it_is_given() {
        let frame = Frame {
            brand: Brand::named("<script>alert(1)</script>"),
            client_name: Some("\"><img src=x>".into()),
            error: None,
            req: "r".into(),
            csrf: "c".into(),
        };
        for page in [
            "sign_in.html",
            "mfa.html",
            "consent.html",
            "error.html",
            "logout.html",
            "signed_out.html",
            "account.html",
            "forgot.html",
            "reset.html",
            "verify.html",
            "notice.html",
            "register.html",
        ] {
            let res = render(
                StatusCode::OK,
                page,
                &frame,
                serde_json::json!({"email": "a@b", "scopes": ["openid"], "mfa_token": "m",
                    "methods": ["totp", "passkey"], "passkey_options": "{\"x\":\"<img src=x>\"}",
                    "passkey_state": "s",
                    "passkeys": [{"id": "i", "name": "<script>alert(1)</script>", "created_at": "t"}],
                    "token": "\"><img src=x>", "message": "<img src=x>", "display_name": "<img src=x>"}),
            );
            let body = actix_web::body::to_bytes(res.into_body());
            let body = futures::executor::block_on(body)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            assert!(body.contains("&lt;script&gt;"), "{page}: {body}");
            assert!(!body.contains("<img src=x>"), "{page}");
            assert!(!body.contains("went wrong"), "{page} rendered");
        }
    }
}
