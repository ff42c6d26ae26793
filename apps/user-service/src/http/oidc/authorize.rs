//! The browser's side of the authorization code flow: `{issuer}/oauth/authorize`, the
//! sign-in form (`/oauth/login`, or a passkey alone at `/oauth/login/passkey`), the second
//! factor (`/oauth/login/mfa`: a code or a passkey) and consent (`/oauth/consent`). Every decision is the provider's (`usvc_user::oauth`); this module
//! moves parameters, cookies and pages.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use usvc_core::{CoreError, Origin};
use usvc_user::oauth::{AuthorizationParams, AuthorizationRequest, BrowserSession, Next, Refusal};
use usvc_user::LoginOutcome;

use crate::http::oidc::brand::Brand;
use crate::http::oidc::cookies;
use crate::http::oidc::pages::{self, Frame};
use crate::http::origin;
use crate::http::state::AppState;

/// Cookies are `Secure` when the service is reached over https (as HSTS is sent).
pub(super) fn secure(state: &AppState) -> bool {
    state.exposure.https()
}

pub(super) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// A page of the flow with the frame filled in (tenant, client, CSRF token: set as a cookie
/// when the browser has none yet).
pub(super) struct Flow<'a> {
    pub(super) state: &'a AppState,
    pub(super) req: &'a HttpRequest,
    pub(super) request: AuthorizationRequest,
    pub(super) sealed: String,
}

impl Flow<'_> {
    async fn frame(&self, error: Option<String>) -> (Frame, Option<String>) {
        let brand = self
            .state
            .oidc
            .tenant(&self.request)
            .await
            .map(|t| Brand::of(&t))
            .unwrap_or_default();
        let client = self
            .state
            .oidc
            .client(
                &usvc_user::oauth::Issuer {
                    url: self.request.issuer.clone(),
                    tenant: Some(self.request.tenant_id),
                },
                &self.request.client_id.to_string(),
            )
            .await
            .ok()
            .flatten()
            .map(|c| c.name);
        let (csrf, new) = cookies::csrf_token(self.req, secure(self.state));
        let frame = Frame {
            brand,
            client_name: client,
            error,
            req: self.sealed.clone(),
            csrf: csrf.clone(),
        };
        (frame, new.then_some(csrf))
    }

    pub(super) async fn page(
        &self,
        status: StatusCode,
        name: &str,
        error: Option<String>,
        extra: serde_json::Value,
    ) -> HttpResponse {
        let (frame, new_csrf) = self.frame(error).await;
        let mut res = pages::render(status, name, &frame, extra);
        if let Some(token) = new_csrf {
            cookies::give_csrf(&mut res, &token, secure(self.state));
        }
        res
    }

    pub(super) async fn sign_in(
        &self,
        status: StatusCode,
        error: Option<String>,
        email: &str,
    ) -> HttpResponse {
        self.sign_in_noting(status, error, None, email).await
    }

    /// The sign-in page, with `notice` announced (what happened, not an error).
    pub(super) async fn sign_in_noting(
        &self,
        status: StatusCode,
        error: Option<String>,
        notice: Option<&str>,
        email: &str,
    ) -> HttpResponse {
        let email = if email.is_empty() {
            self.request.login_hint.clone().unwrap_or_default()
        } else {
            email.to_owned()
        };
        let open = self
            .state
            .oidc
            .tenant(&self.request)
            .await
            .is_ok_and(|t| t.settings.self_registration);
        let mut extra = json!({ "email": email, "notice": notice, "registration_open": open });
        // Each sign-in page carries a passkey sign-in begun for it (nothing is stored until
        // it is answered); none where passkeys are unavailable.
        if let Ok(begun) = self.state.passkeys.begin_sign_in() {
            extra["passkey_options"] = begun.options.to_string().into();
            extra["passkey_state"] = begun.state.into();
        }
        self.page(status, "sign_in.html", error, extra).await
    }

    /// Shows what comes next for the request.
    async fn next(&self, browser: Option<&BrowserSession>, consented: bool) -> HttpResponse {
        match self
            .state
            .oidc
            .next(&self.request, browser, consented, &origin::of(self.req))
            .await
        {
            Ok(Next::SignIn) => self.sign_in(StatusCode::OK, None, "").await,
            Ok(Next::Consent(client)) => {
                self.page(
                    StatusCode::OK,
                    "consent.html",
                    None,
                    json!({ "scopes": describe(&self.request.scope), "client_name": client.name }),
                )
                .await
            }
            Ok(Next::Redirect(location)) => see_other(&location),
            Err(e) => failure(&e),
        }
    }
}

/// What each scope lets the application do, as the consent page says it.
fn describe(scope: &[String]) -> Vec<&'static str> {
    scope
        .iter()
        .filter_map(|s| match s.as_str() {
            "openid" => Some("know who you are"),
            "profile" => Some("see your name and profile"),
            "email" => Some("see your email address"),
            "offline_access" => Some("stay signed in when you are away"),
            "api" => Some("act on your behalf in this service"),
            _ => None,
        })
        .collect()
}

pub(super) fn failure(e: &CoreError) -> HttpResponse {
    let (status, message) = match e {
        CoreError::Unauthenticated(m) => (StatusCode::BAD_REQUEST, m.clone()),
        CoreError::NotFound(what) => (StatusCode::NOT_FOUND, format!("no such {what}")),
        CoreError::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
        CoreError::RateLimited { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "too many attempts: wait a moment and try again".to_owned(),
        ),
        other => {
            tracing::warn!(error = %other, "the sign-in flow failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the service could not complete this; try again".to_owned(),
            )
        }
    };
    pages::error(status, "", &message)
}

pub(super) async fn browser_of(state: &AppState, req: &HttpRequest) -> Option<BrowserSession> {
    let sealed = cookies::get(req, &cookies::browser(secure(state)))?;
    state.oidc.open_browser(&sealed).await.ok().flatten()
}

/// `GET|POST {issuer}/oauth/authorize`: checks the request, then signs the user in, asks for
/// consent, or returns a code.
pub async fn authorize(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let raw = if req.method() == actix_web::http::Method::POST {
        String::from_utf8_lossy(&body).into_owned()
    } else {
        req.query_string().to_owned()
    };
    let Ok(params) = serde_urlencoded::from_str::<AuthorizationParams>(&raw) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "",
            "the sign-in request is malformed",
        );
    };
    let issuer = match state.oidc.issuer(req.match_info().get("slug")).await {
        Ok(issuer) => issuer,
        Err(e) => return failure(&e),
    };
    let request = match state
        .oidc
        .validate(&issuer, &params, &origin::of(&req))
        .await
    {
        Ok((request, _)) => request,
        Err(Refusal::Page(message)) => return pages::error(StatusCode::BAD_REQUEST, "", &message),
        Err(Refusal::Redirect(refusal)) => return see_other(&refusal.location()),
    };
    let Ok(sealed) = state.oidc.seal_request(&request) else {
        return failure(&CoreError::Internal("sealing".into()));
    };
    let flow = Flow {
        state: &state,
        req: &req,
        request,
        sealed,
    };
    let browser = browser_of(&state, &req).await;
    flow.next(browser.as_ref(), false).await
}

/// The fields of a hosted form.
pub(super) fn form(body: &web::Bytes) -> HashMap<String, String> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

/// The query parameter `name` of `req` (empty when absent).
pub(super) fn query(req: &HttpRequest, name: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .find_map(|(k, v)| (k == name).then_some(v))
        .unwrap_or_default()
}

/// The request a page's link carries (`?req=…`, sealed by this service): the links from the
/// sign-in page to its neighbours (forgot password, registration) and back. A GET changes
/// nothing, so it needs no CSRF token.
pub(super) async fn resumed<'a>(
    state: &'a AppState,
    req: &'a HttpRequest,
    sealed: &str,
) -> Result<Flow<'a>, HttpResponse> {
    let request = state.oidc.open_request(sealed).map_err(|e| failure(&e))?;
    Ok(Flow {
        state,
        req,
        request,
        sealed: sealed.to_owned(),
    })
}

/// `GET /oauth/login?req=…`: the sign-in page again (from its neighbours' "back" links).
pub async fn login_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match resumed(&state, &req, &query(&req, "req")).await {
        Ok(flow) => flow.sign_in(StatusCode::OK, None, "").await,
        Err(page) => page,
    }
}

/// Opens the request a form carries, once its CSRF token matches (a refusal is audited).
pub(super) async fn opened<'a>(
    state: &'a AppState,
    req: &'a HttpRequest,
    fields: &HashMap<String, String>,
) -> Result<Flow<'a>, HttpResponse> {
    let sealed = fields.get("req").map(String::as_str).unwrap_or_default();
    let request = state.oidc.open_request(sealed).map_err(|e| failure(&e))?;
    let csrf = fields.get("csrf").map(String::as_str).unwrap_or_default();
    if !cookies::csrf_ok(req, csrf, secure(state)) {
        state.oidc.csrf_refused(&request, &origin::of(req)).await;
        return Err(pages::forged_form());
    }
    Ok(Flow {
        state,
        req,
        request,
        sealed: sealed.to_owned(),
    })
}

/// [`opened`] for a form that checks a secret (a password, a code, a passkey, an address
/// to mail): also under the login's per-IP limit (`AUTH_RATE_LIMIT`), past which the page
/// says so.
pub(super) async fn opened_limited<'a>(
    state: &'a AppState,
    req: &'a HttpRequest,
    fields: &HashMap<String, String>,
) -> Result<Flow<'a>, HttpResponse> {
    let flow = opened(state, req, fields).await?;
    match over_limit(state, req).await {
        Some(page) => Err(page),
        None => Ok(flow),
    }
}

/// The login's per-IP limit (`AUTH_RATE_LIMIT`): the page saying so once it is reached.
pub(super) async fn over_limit(state: &AppState, req: &HttpRequest) -> Option<HttpResponse> {
    let checked = state.auth_limit.check_request(req, state.clock.now()).await;
    checked.err().map(|e| failure(&e))
}

/// Signs the browser in (cookie set) and goes on with the request.
pub(super) async fn signed_in(flow: &Flow<'_>, access_token: &str, amr: &[&str]) -> HttpResponse {
    let (browser, sealed) = match flow.state.oidc.browser_session(access_token, amr) {
        Ok(b) => b,
        Err(e) => return failure(&e),
    };
    // The browser's earlier sign-in, if any, ends: one browser, one sign-in.
    if let Some(earlier) = browser_of(flow.state, flow.req).await {
        if earlier.session != browser.session {
            if let Err(e) = flow
                .state
                .oidc
                .end_browser(&earlier, &origin::of(flow.req))
                .await
            {
                tracing::warn!(error = %e, "an earlier sign-in could not be ended");
            }
        }
    }
    let mut res = flow.next(Some(&browser), false).await;
    let secure = secure(flow.state);
    cookies::set(&mut res, &cookies::browser(secure), Some(&sealed), secure);
    res
}

/// `POST /oauth/login`: email and password.
pub async fn login(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let fields = form(&body);
    let flow = match opened_limited(&state, &req, &fields).await {
        Ok(flow) => flow,
        Err(page) => return page,
    };
    let email = fields.get("email").map(String::as_str).unwrap_or_default();
    let password = fields
        .get("password")
        .map(String::as_str)
        .unwrap_or_default();
    let tenant = match state.oidc.tenant(&flow.request).await {
        Ok(t) => t,
        Err(e) => return failure(&e),
    };
    let origin: Origin = origin::of(&req);
    let password = usvc_core::Password::new(password);
    let slug = tenant.slug.as_str();
    let outcome = if flow.request.mfa_asked {
        // The application asked for a second factor: a passkey counts, when the user has one.
        let auth = &state.auth;
        auth.login_asking_mfa(slug, email, &password, origin).await
    } else {
        state.auth.login(slug, email, &password, origin).await
    };
    match outcome {
        Ok(LoginOutcome::Tokens(pair)) => signed_in(&flow, &pair.access_token, &["pwd"]).await,
        Ok(LoginOutcome::MfaRequired {
            mfa_token,
            enroll: false,
            methods,
            passkey,
        }) => {
            let (options, state) = passkey
                .map(|p| (p.options.to_string(), p.state))
                .unwrap_or_default();
            let page = SecondFactor {
                mfa_token: &mfa_token,
                methods: methods.join(" "),
                passkey_options: &options,
                passkey_state: &state,
            };
            flow.page(StatusCode::OK, "mfa.html", None, page.values())
                .await
        }
        Ok(LoginOutcome::MfaRequired { enroll: true, .. }) => pages::error(
            StatusCode::FORBIDDEN,
            &tenant.name,
            "your organisation requires a second factor: set one up in your account first",
        ),
        Err(CoreError::Unauthenticated(_)) => {
            flow.sign_in(
                StatusCode::UNAUTHORIZED,
                Some("Wrong email or password.".into()),
                email,
            )
            .await
        }
        Err(CoreError::Forbidden(_)) => {
            flow.sign_in(
                StatusCode::FORBIDDEN,
                Some("This account is not active.".into()),
                email,
            )
            .await
        }
        Err(e) => failure(&e),
    }
}

/// The second-factor page's values, carried from the login through each try.
struct SecondFactor<'a> {
    mfa_token: &'a str,
    /// The factors the user holds, space-separated (`totp recovery_code passkey`).
    methods: String,
    /// The passkey ceremony's options (JSON) and sealed state, if a passkey is among them.
    passkey_options: &'a str,
    passkey_state: &'a str,
}

impl<'a> SecondFactor<'a> {
    /// As the form sent them back (only known method names are kept).
    fn posted(fields: &'a HashMap<String, String>) -> Self {
        let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
        let methods = field("methods")
            .split(' ')
            .filter(|m| ["totp", "recovery_code", "passkey"].contains(m))
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            mfa_token: field("mfa_token"),
            methods,
            passkey_options: field("passkey_options"),
            passkey_state: field("passkey_state"),
        }
    }

    fn values(&self) -> Value {
        json!({
            "mfa_token": self.mfa_token,
            "methods": self.methods.split(' ').filter(|m| !m.is_empty()).collect::<Vec<_>>(),
            "passkey_options": self.passkey_options,
            "passkey_state": self.passkey_state,
        })
    }
}

/// `POST /oauth/login/mfa`: the second factor: a TOTP or recovery code, or a passkey's
/// answer (`credential`, filled in by the page's script).
pub async fn login_mfa(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let fields = form(&body);
    let flow = match opened_limited(&state, &req, &fields).await {
        Ok(flow) => flow,
        Err(page) => return page,
    };
    let page = SecondFactor::posted(&fields);
    let origin = origin::of(&req);
    let answer = fields.get("credential").filter(|c| !c.is_empty());
    let outcome = if let Some(answer) = answer {
        match serde_json::from_str::<Value>(answer) {
            Ok(answer) => state
                .auth
                .verify_mfa_passkey(page.mfa_token, page.passkey_state, &answer, &origin)
                .await
                .map(|pair| (pair, ["pwd", "hwk", "mfa"].as_slice())),
            Err(_) => Err(CoreError::invalid("credential", "not a passkey's answer")),
        }
    } else {
        let code = fields.get("code").map(String::as_str).unwrap_or_default();
        state
            .auth
            .verify_mfa(page.mfa_token, code, &origin)
            .await
            .map(|pair| (pair, ["pwd", "mfa"].as_slice()))
    };
    let again = |status, message: &str| {
        flow.page(status, "mfa.html", Some(message.to_owned()), page.values())
    };
    match outcome {
        Ok((pair, amr)) => signed_in(&flow, &pair.access_token, amr).await,
        Err(CoreError::Unauthenticated(reason)) if reason == "invalid code" => {
            again(StatusCode::UNAUTHORIZED, "That code is not right.").await
        }
        Err(CoreError::Unauthenticated(reason)) if reason.starts_with("the passkey") => {
            again(StatusCode::UNAUTHORIZED, "That passkey was not accepted.").await
        }
        Err(CoreError::Validation(_)) => {
            again(
                StatusCode::BAD_REQUEST,
                "That answer could not be read: try again.",
            )
            .await
        }
        Err(e) => failure(&e),
    }
}

/// `POST /oauth/login/passkey`: a passkey alone, answering the sign-in page's ceremony. Only
/// a passkey of the request's tenant signs in here.
pub async fn login_passkey(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let fields = form(&body);
    let flow = match opened_limited(&state, &req, &fields).await {
        Ok(flow) => flow,
        Err(page) => return page,
    };
    let refused = || {
        flow.sign_in(
            StatusCode::UNAUTHORIZED,
            Some("That passkey did not sign you in.".into()),
            "",
        )
    };
    let sealed = fields.get("state").map(String::as_str).unwrap_or_default();
    let Some(answer) = fields
        .get("credential")
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
    else {
        return refused().await;
    };
    let origin = origin::of(&req);
    let signed = match state
        .passkeys
        .finish_sign_in(sealed, &answer, &origin, Some(flow.request.tenant_id))
        .await
    {
        Ok(signed) => signed,
        Err(CoreError::Unauthenticated(_) | CoreError::Validation(_)) => return refused().await,
        Err(e) => return failure(&e),
    };
    match state
        .auth
        .passkey_login(signed.tenant, signed.user, origin)
        .await
    {
        // A passkey with user verification: possession and the device's PIN or biometrics.
        Ok(pair) => signed_in(&flow, &pair.access_token, &["hwk", "mfa"]).await,
        Err(CoreError::Unauthenticated(_)) => refused().await,
        Err(e) => failure(&e),
    }
}

/// `POST /oauth/consent`: allow or deny.
pub async fn consent(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let fields = form(&body);
    let flow = match opened(&state, &req, &fields).await {
        Ok(flow) => flow,
        Err(page) => return page,
    };
    let browser = browser_of(&state, &req).await;
    match (fields.get("decision").map(String::as_str), browser) {
        (Some("allow"), Some(browser)) => flow.next(Some(&browser), true).await,
        (Some("deny"), _) => see_other(&state.oidc.deny(&flow.request, &origin::of(&req)).await),
        (_, None) => flow.next(None, false).await,
        _ => pages::error(StatusCode::BAD_REQUEST, "", "choose allow or deny"),
    }
}

/// `GET /oauth/assets/passkey.js`.
pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(pages::PASSKEY_SCRIPT)
}

/// `GET /oauth/assets/style.css`.
pub async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(pages::STYLE)
}

/// The parameters of a logout request (RP-Initiated Logout 1.0 section 2).
#[derive(Debug, Default, serde::Deserialize)]
pub struct LogoutParams {
    /// An ID token this issuer signed: names the sign-in to end.
    pub id_token_hint: Option<String>,
    /// The client asking.
    pub client_id: Option<String>,
    /// Where to return: one of the client's registered post-logout redirect URIs.
    pub post_logout_redirect_uri: Option<String>,
    /// Returned as sent.
    pub state: Option<String>,
}

fn signed_out(state: &AppState, req: &HttpRequest, redirect: Option<String>) -> HttpResponse {
    let secure = secure(state);
    let mut res = match redirect {
        Some(location) => see_other(&location),
        None => pages::render(
            StatusCode::OK,
            "signed_out.html",
            &Frame::default(),
            json!({}),
        ),
    };
    if cookies::get(req, &cookies::browser(secure)).is_some() {
        cookies::set(&mut res, &cookies::browser(secure), None, secure);
    }
    res
}

/// The page asking the user to confirm signing out (CSRF-protected form).
fn confirm_logout(state: &AppState, req: &HttpRequest) -> HttpResponse {
    let page = (StatusCode::OK, "logout.html");
    with_csrf(state, req, page, Frame::default(), json!({}))
}

/// A page outside an authorization request (`frame` without its CSRF token: filled in here,
/// and set as the browser's cookie when it has none).
pub(super) fn with_csrf(
    state: &AppState,
    req: &HttpRequest,
    (status, name): (StatusCode, &str),
    frame: Frame,
    extra: Value,
) -> HttpResponse {
    let (csrf, new) = cookies::csrf_token(req, secure(state));
    let frame = Frame {
        csrf: csrf.clone(),
        ..frame
    };
    let mut res = pages::render(status, name, &frame, extra);
    if new {
        cookies::give_csrf(&mut res, &csrf, secure(state));
    }
    res
}

/// A logout request from a client (query or form): with an `id_token_hint` this issuer
/// signed for the sign-in this browser holds, that sign-in ends (with every grant opened
/// from it) and the browser returns to the client's registered post-logout URI; anything
/// else (no hint, or a hint naming another sign-in) asks the user first (RP-Initiated
/// Logout section 2: an old or leaked ID token alone must not sign anyone out).
async fn logout_requested(
    state: &AppState,
    req: &HttpRequest,
    params: &LogoutParams,
) -> HttpResponse {
    let issuer = match state.oidc.issuer(req.match_info().get("slug")).await {
        Ok(issuer) => issuer,
        Err(e) => return failure(&e),
    };
    let logout = match state
        .oidc
        .logout_request(
            &issuer,
            params.id_token_hint.as_deref(),
            params.client_id.as_deref(),
            params.post_logout_redirect_uri.as_deref(),
            params.state.as_deref(),
        )
        .await
    {
        Ok(logout) => logout,
        Err(e) => return failure(&e),
    };
    let browser = browser_of(state, req).await;
    let this_browser = match (logout.sign_in, &browser) {
        (Some((tenant, sign_in)), Some(b)) => b.tenant == tenant && b.session == sign_in,
        _ => false,
    };
    let Some(browser) = browser.filter(|_| this_browser) else {
        return confirm_logout(state, req);
    };
    if let Err(e) = state
        .oidc
        .end_browser_sign_in(&browser, &origin::of(req))
        .await
    {
        return failure(&e);
    }
    signed_out(state, req, logout.redirect)
}

/// `GET {issuer}/oauth/logout`.
pub async fn logout(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let params: LogoutParams = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    logout_requested(&state, &req, &params).await
}

/// `POST {issuer}/oauth/logout`: a client's logout request as a form, or the user's
/// confirmation (the form the confirmation page shows, with its CSRF token).
pub async fn logout_posted(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let fields = form(&body);
    let Some(csrf) = fields.get("csrf") else {
        let params: LogoutParams = serde_urlencoded::from_bytes(&body).unwrap_or_default();
        return logout_requested(&state, &req, &params).await;
    };
    if !cookies::csrf_ok(&req, csrf, secure(&state)) {
        return pages::forged_form();
    }
    if let Some(browser) = browser_of(&state, &req).await {
        if let Err(e) = state
            .oidc
            .end_browser_sign_in(&browser, &origin::of(&req))
            .await
        {
            return failure(&e);
        }
    }
    signed_out(&state, &req, None)
}
