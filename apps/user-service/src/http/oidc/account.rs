//! `/oauth/account`: the hosted page where the browser's signed-in user manages their own
//! passkeys (docs/passkeys.md): lists them, adds one (the page's script hands the ceremony to
//! the device; only within five minutes of signing in, or after the password is typed again
//! on the page), renames and removes them; and the applications they allowed, each
//! withdrawable (remembered consent). It acts as the browser's sign-in (the session the
//! hosted sign-in opened), through the same `PasskeyService` as the API; every form carries the
//! CSRF token, every change answers with a redirect back to the page.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use usvc_core::{CoreError, PasskeyId, Principal};
use usvc_user::oauth::BrowserSession;
use usvc_user::FreshSignIn;

use crate::http::oidc::authorize::{browser_of, failure, form, secure, see_other, with_csrf};
use crate::http::oidc::brand::Brand;
use crate::http::oidc::cookies;
use crate::http::oidc::pages::{self, Frame};
use crate::http::origin;
use crate::http::state::AppState;

/// Where the page lives (and every change returns to).
const PAGE: &str = "/oauth/account";

/// The browser's sign-in as the principal its forms act for (its own passkeys need no role).
fn principal(browser: &BrowserSession, req: &HttpRequest) -> Principal {
    Principal {
        user: browser.user,
        tenant: browser.tenant,
        session: browser.session,
        roles: Vec::new(),
        origin: origin::of(req),
    }
}

fn not_signed_in() -> HttpResponse {
    pages::error(
        StatusCode::UNAUTHORIZED,
        "",
        "sign in first: this page manages the account this browser is signed in to",
    )
}

/// `GET /oauth/account`.
pub async fn account(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match browser_of(&state, &req).await {
        Some(browser) => {
            let fresh = state.auth.fresh_since(browser.auth_time);
            page(&state, &req, &browser, (StatusCode::OK, None), fresh).await
        }
        None => not_signed_in(),
    }
}

/// The page, with `error` announced; with a `fresh` sign-in, a passkey registration begun
/// for it, else the password form that proves one.
async fn page(
    state: &AppState,
    req: &HttpRequest,
    browser: &BrowserSession,
    (status, error): (StatusCode, Option<String>),
    fresh: Option<FreshSignIn>,
) -> HttpResponse {
    let principal = principal(browser, req);
    let (user, passkeys, consents) = match (
        state.auth.profile(&principal).await,
        state.passkeys.list(&principal).await,
        state.oidc.consents(&principal).await,
    ) {
        (Ok(user), Ok(passkeys), Ok(consents)) => (user, passkeys, consents),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return failure(&e),
    };
    let brand = match state.db.tenants.get(browser.tenant).await {
        Ok(tenant) => tenant.map(|t| Brand::of(&t)).unwrap_or_default(),
        Err(e) => return failure(&e),
    };
    let listed: Vec<Value> = passkeys
        .iter()
        .map(|p| {
            json!({
                "id": p.id.to_string(),
                "name": p.name,
                "created_at": p.created_at.format("%Y-%m-%d").to_string(),
                "last_used_at": p.last_used_at.map(|t| t.format("%Y-%m-%d").to_string()),
            })
        })
        .collect();
    let allowed: Vec<Value> = consents
        .iter()
        .map(|c| {
            json!({
                "client_id": c.consent.client_id.to_string(),
                "name": c.client_name,
                "scope": c.consent.scope.join(" "),
            })
        })
        .collect();
    let mut extra =
        json!({ "email": user.email.as_str(), "passkeys": listed, "consents": allowed });
    match fresh {
        // A registration begun for the page (none at the limit or without passkeys).
        Some(fresh) => {
            if let Ok(begun) = state.passkeys.begin_registration(&principal, &fresh).await {
                extra["passkey_options"] = begun.options.to_string().into();
                extra["passkey_state"] = begun.state.into();
            }
        }
        None => extra["confirm"] = true.into(),
    }
    let frame = Frame {
        brand,
        error,
        ..Frame::default()
    };
    with_csrf(state, req, (status, "account.html"), frame, extra)
}

/// `POST /oauth/account/passkeys`: `action` = `confirm` (`password`: the page again, ready
/// to add a passkey), `add` (`state`, `name`, `credential`), `rename` (`passkey_id`, `name`),
/// `remove` (`passkey_id`) or `withdraw` (`client_id`: the consent to an application).
pub async fn passkeys(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let fields = form(&body);
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    if !cookies::csrf_ok(&req, field("csrf"), secure(&state)) {
        return pages::forged_form();
    }
    let Some(browser) = browser_of(&state, &req).await else {
        return not_signed_in();
    };
    let principal = principal(&browser, &req);
    let id = || {
        field("passkey_id")
            .parse::<PasskeyId>()
            .map_err(|_| CoreError::NotFound("passkey".into()))
    };
    if field("action") == "confirm" {
        let password = usvc_core::Password::new(field("password"));
        return match state.auth.reauthenticate(&principal, &password).await {
            Ok(fresh) => page(&state, &req, &browser, (StatusCode::OK, None), Some(fresh)).await,
            Err(CoreError::Validation(_)) => {
                let wrong = (
                    StatusCode::BAD_REQUEST,
                    Some("That password is not right.".into()),
                );
                page(&state, &req, &browser, wrong, None).await
            }
            Err(e) => failure(&e),
        };
    }
    let done = match field("action") {
        "add" => match serde_json::from_str::<Value>(field("credential")) {
            Ok(answer) => state
                .passkeys
                .finish_registration(&principal, field("state"), field("name"), &answer)
                .await
                .map(|_| ()),
            Err(_) => Err(CoreError::invalid("credential", "not a passkey's answer")),
        },
        "rename" => match id() {
            Ok(id) => state
                .passkeys
                .rename(&principal, id, field("name"))
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        },
        "remove" => match id() {
            Ok(id) => state.passkeys.remove(&principal, id).await,
            Err(e) => Err(e),
        },
        "withdraw" => match field("client_id").parse::<uuid::Uuid>() {
            Ok(client) => {
                let client = usvc_core::ClientId::from_uuid(client);
                state.oidc.withdraw_consent(&principal, client).await
            }
            Err(_) => Err(CoreError::NotFound("consent".into())),
        },
        _ => Err(CoreError::invalid(
            "action",
            "confirm, add, rename, remove or withdraw",
        )),
    };
    match done {
        Ok(()) => see_other(PAGE),
        Err(e @ (CoreError::Validation(_) | CoreError::NotFound(_) | CoreError::Conflict(_))) => {
            let shown = match &e {
                CoreError::NotFound(_) => (StatusCode::NOT_FOUND, "That is gone already.".into()),
                CoreError::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
                CoreError::Validation(errors) => (StatusCode::BAD_REQUEST, pages::sentence(errors)),
                other => (StatusCode::BAD_REQUEST, other.to_string()),
            };
            page(&state, &req, &browser, (shown.0, Some(shown.1)), None).await
        }
        Err(CoreError::Forbidden(m)) => pages::error(StatusCode::FORBIDDEN, "", &m),
        Err(e) => failure(&e),
    }
}
