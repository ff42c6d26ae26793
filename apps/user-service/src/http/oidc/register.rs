//! `/oauth/register`: creating an account from the sign-in page, where the tenant allows
//! self-registration (docs/oidc.md). The account is made as through the API (a `member`, a
//! verification mail); the page then says the same whether or not the address was free
//! ("check your mail, then sign in"), so it tells nothing about other accounts, and the new
//! user signs in on the sign-in page it returns to.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use usvc_core::{CoreError, Password};
use usvc_user::{ProfileChanges, Registration};

use crate::http::oidc::authorize::{failure, form, opened_limited, query, resumed, Flow};
use crate::http::oidc::pages;
use crate::http::origin;
use crate::http::state::AppState;

/// Whether the request's tenant takes registrations (an error page when it does not).
async fn open(flow: &Flow<'_>) -> Result<usvc_core::Tenant, HttpResponse> {
    match flow.state.oidc.tenant(&flow.request).await {
        Ok(tenant) if tenant.settings.self_registration => Ok(tenant),
        Ok(tenant) => Err(pages::error(
            StatusCode::FORBIDDEN,
            &tenant.name,
            "this organisation does not take registrations: ask its administrators for an account",
        )),
        Err(e) => Err(failure(&e)),
    }
}

/// `GET /oauth/register?req=…`.
pub async fn register_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let flow = match resumed(&state, &req, &query(&req, "req")).await {
        Ok(flow) => flow,
        Err(page) => return page,
    };
    if let Err(page) = open(&flow).await {
        return page;
    }
    let values = json!({ "email": "", "display_name": "" });
    flow.page(StatusCode::OK, "register.html", None, values)
        .await
}

/// `POST /oauth/register`: `email`, `password`, `display_name` (optional).
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let fields = form(&body);
    let flow = match opened_limited(&state, &req, &fields).await {
        Ok(flow) => flow,
        Err(page) => return page,
    };
    let tenant = match open(&flow).await {
        Ok(tenant) => tenant,
        Err(page) => return page,
    };
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    let (email, name) = (field("email"), field("display_name").trim());
    let origin = origin::of(&req);
    let registration = Registration {
        tenant: tenant.slug.as_str().to_owned(),
        email: email.to_owned(),
        password: Password::new(field("password")),
        profile: ProfileChanges {
            display_name: (!name.is_empty()).then(|| Some(name.to_owned())),
            ..ProfileChanges::default()
        },
    };
    match state.users.register(registration, &origin).await {
        Ok(Some(user)) => {
            // The account exists either way; a mail problem must not turn it into an error.
            if let Err(e) = state.auth.send_verification_to(&user).await {
                tracing::warn!(error = %e, "verification mail not sent");
            }
        }
        Ok(None) => {}
        Err(CoreError::Validation(errors)) => {
            let message = pages::sentence(&errors);
            let values = json!({ "email": email, "display_name": name });
            return flow
                .page(
                    StatusCode::BAD_REQUEST,
                    "register.html",
                    Some(message),
                    values,
                )
                .await;
        }
        Err(e) => return failure(&e),
    }
    let next = "If this address can be registered, its account is ready: sign in with it \
                (and confirm the address with the link we mailed).";
    flow.sign_in_noting(StatusCode::OK, None, Some(next), email)
        .await
}
