//! The hosted pages of account recovery (docs/oidc.md): "forgot your password?" from the
//! sign-in page (`/oauth/password/forgot`), and the pages the mailed links open:
//! `{PUBLIC_URL}/reset-password?token=…` (choose a new password) and
//! `{PUBLIC_URL}/verify-email?token=…` (confirm the address). A link only shows its form:
//! the change is a POST with the page's CSRF token, so a mail scanner that follows links
//! spends nothing. Every decision is `AuthService`'s, as through the API.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use usvc_core::{CoreError, Password};

use crate::http::oidc::authorize::{
    failure, form, opened_limited, over_limit, query, resumed, secure, with_csrf,
};
use crate::http::oidc::brand::Brand;
use crate::http::oidc::cookies;
use crate::http::oidc::pages::{self, Frame};
use crate::http::origin;
use crate::http::state::AppState;

fn notice(state: &AppState, req: &HttpRequest, heading: &str, message: &str) -> HttpResponse {
    let extra = json!({ "heading": heading, "message": message });
    with_csrf(
        state,
        req,
        (StatusCode::OK, "notice.html"),
        Frame::default(),
        extra,
    )
}

/// `GET /oauth/password/forgot?req=…`: the address to mail a link to.
pub async fn forgot_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match resumed(&state, &req, &query(&req, "req")).await {
        Ok(flow) => {
            flow.page(StatusCode::OK, "forgot.html", None, json!({ "email": "" }))
                .await
        }
        Err(page) => page,
    }
}

/// `POST /oauth/password/forgot`: mails a link if the account exists, and says the same
/// either way (back on the sign-in page).
pub async fn forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let fields = form(&body);
    let flow = match opened_limited(&state, &req, &fields).await {
        Ok(flow) => flow,
        Err(page) => return page,
    };
    let email = fields.get("email").map(String::as_str).unwrap_or_default();
    let tenant = match state.oidc.tenant(&flow.request).await {
        Ok(tenant) => tenant,
        Err(e) => return failure(&e),
    };
    match state
        .auth
        .forgot_password(tenant.slug.as_str(), email)
        .await
    {
        Ok(()) => {
            let sent = "If an account uses this address, we mailed it a link to choose a new \
                        password (it works for 30 minutes). Then sign in here.";
            flow.sign_in_noting(StatusCode::OK, None, Some(sent), email)
                .await
        }
        Err(CoreError::Validation(_)) => {
            let error = Some("That is not an email address.".to_owned());
            flow.page(
                StatusCode::BAD_REQUEST,
                "forgot.html",
                error,
                json!({ "email": email }),
            )
            .await
        }
        Err(e) => failure(&e),
    }
}

/// `GET /reset-password?token=…` (the mailed link): the new password's form.
pub async fn reset_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let token = query(&req, "token");
    with_csrf(
        &state,
        &req,
        (StatusCode::OK, "reset.html"),
        Frame::default(),
        json!({ "token": token }),
    )
}

/// `POST /reset-password`: sets the new password; every session of the account ends.
pub async fn reset(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let fields = form(&body);
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    if !cookies::csrf_ok(&req, field("csrf"), secure(&state)) {
        return pages::forged_form();
    }
    if let Some(page) = over_limit(&state, &req).await {
        return page;
    }
    let password = Password::new(field("new_password"));
    match state
        .auth
        .reset_password(field("token"), &password, &origin::of(&req))
        .await
    {
        Ok(()) => notice(
            &state,
            &req,
            "Password changed",
            "Your password is changed and every session of the account has ended. Go back to \
             your application and sign in with the new password.",
        ),
        Err(CoreError::Validation(errors)) if errors.iter().any(|e| e.field == "token") => {
            pages::error(
                StatusCode::BAD_REQUEST,
                "",
                "this link has expired or was already used: ask for a new one from the sign-in page",
            )
        }
        Err(CoreError::Validation(errors)) => {
            let frame = Frame {
                error: Some(format!("That cannot be used: {}.", pages::sentence(&errors))),
                ..Frame::default()
            };
            let token = json!({ "token": field("token") });
            with_csrf(&state, &req, (StatusCode::BAD_REQUEST, "reset.html"), frame, token)
        }
        Err(e) => failure(&e),
    }
}

/// `GET /verify-email?token=…` (the mailed link): which account and organisation the link
/// confirms, and a button to confirm it (someone may have registered another's address: the
/// page says whose account it is, and not to confirm one they did not make).
pub async fn verify_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let token = query(&req, "token");
    let (email, tenant) = match state.auth.verification_for(&token).await {
        Ok(Some(found)) => found,
        Ok(None) => return expired(),
        Err(e) => return failure(&e),
    };
    let frame = Frame {
        brand: Brand::of(&tenant),
        ..Frame::default()
    };
    let values = json!({ "token": token, "email": email, "organisation": tenant.name });
    with_csrf(&state, &req, (StatusCode::OK, "verify.html"), frame, values)
}

fn expired() -> HttpResponse {
    pages::error(
        StatusCode::BAD_REQUEST,
        "",
        "this link has expired or was already used",
    )
}

/// `POST /verify-email`: confirms the address.
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let fields = form(&body);
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    if !cookies::csrf_ok(&req, field("csrf"), secure(&state)) {
        return pages::forged_form();
    }
    if let Some(page) = over_limit(&state, &req).await {
        return page;
    }
    match state
        .auth
        .verify_email(field("token"), &origin::of(&req))
        .await
    {
        Ok(()) => notice(
            &state,
            &req,
            "Address confirmed",
            "Your email address is confirmed.",
        ),
        Err(CoreError::Validation(_)) => expired(),
        Err(e) => failure(&e),
    }
}
