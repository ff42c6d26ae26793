//! `/oauth/register`: creating an account from the sign-in page, where the tenant allows
//! self-registration (docs/oidc.md). The account is made as through the API (a `member`,
//! a verification mail, the same answer whether or not the address was free); then the
//! browser signs in with the chosen password and the authorization request goes on. When
//! that sign-in does not succeed (the address was taken, or a second factor is needed) the
//! sign-in page says what to do, in words that tell nothing about other accounts.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use usvc_core::{CoreError, Password};
use usvc_user::{LoginOutcome, ProfileChanges, Registration};

use crate::http::oidc::authorize::{failure, form, opened, over_limit, resumed, signed_in, Flow};
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
    let sealed = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .find_map(|(k, v)| (k == "req").then_some(v))
        .unwrap_or_default();
    let flow = match resumed(&state, &req, &sealed).await {
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
    let flow = match opened(&state, &req, &fields).await {
        Ok(flow) => flow,
        Err(page) => return page,
    };
    let tenant = match open(&flow).await {
        Ok(tenant) => tenant,
        Err(page) => return page,
    };
    if let Some(page) = over_limit(&state, &req).await {
        return page;
    }
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
            let message = errors
                .iter()
                .map(|e| format!("{}: {}", e.field.replace('_', " "), e.message))
                .collect::<Vec<_>>()
                .join("; ");
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
    let password = Password::new(field("password"));
    let outcome = state
        .auth
        .login(tenant.slug.as_str(), email, &password, origin)
        .await;
    if let Ok(LoginOutcome::Tokens(pair)) = outcome {
        return signed_in(&flow, &pair.access_token, &["pwd"]).await;
    }
    let next = "If this address was new, its account is ready; either way, sign in with its \
                password (and confirm the address with the link we mailed).";
    flow.sign_in_noting(StatusCode::OK, None, Some(next), email)
        .await
}
