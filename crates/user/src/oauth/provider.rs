//! The OpenID provider's use cases (docs/oidc.md): issuers, the browser's sign-in session,
//! authorization requests kept while the user signs in, codes, and what a code becomes at
//! the token endpoint. The HTTP adapter renders pages and moves parameters; every decision
//! is made here.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use usvc_core::ports::{
    AuditLog, Cache, Clock, ConsentRepository, OAuthClientRepository, OAuthGrantRepository,
    OpaqueTokens, SecretBox, SessionRepository, Settings, SpentOnce, TenantRepository,
    TokenService, UserRepository,
};
use usvc_core::{
    Actor, AuditEntry, AuthorizationCode, ClientId, CoreError, OAuthClient, Origin, ResourceRef,
    Session, SessionId, Slug, TenantId, TenantStatus, User, UserId,
};

use crate::audit::actions as audit;
use crate::oauth::request::{
    self, AuthorizationParams, AuthorizationRequest, ErrorRedirect, Refusal,
};

/// How long a code may wait for its token request (RFC 6749 recommends at most ten minutes;
/// a client redeems it at once).
pub const CODE_LIFETIME: chrono::Duration = chrono::Duration::seconds(60);
/// How long a user may take to sign in before the application's request must start again.
pub const REQUEST_LIFETIME: chrono::Duration = chrono::Duration::minutes(30);

const BROWSER_CONTEXT: &[u8] = b"oidc-browser-session";
const REQUEST_CONTEXT: &[u8] = b"oidc-authorization-request";

/// Where a request came to: the service-wide issuer (`PUBLIC_URL`: any tenant's clients) or a
/// tenant's (`PUBLIC_URL/t/{slug}`: only its clients).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// The issuer identifier (`iss`).
    pub url: String,
    /// The tenant it is limited to, for a tenant issuer.
    pub tenant: Option<TenantId>,
}

/// The browser's sign-in at the provider: a session of the user's, and how they proved who
/// they are. Kept sealed in a cookie; it holds only while its session is live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserSession {
    /// The sign-in's session (the ID token's `sid`).
    pub session: SessionId,
    /// The tenant.
    pub tenant: TenantId,
    /// The user.
    pub user: UserId,
    /// When they signed in.
    pub auth_time: DateTime<Utc>,
    /// How (RFC 8176: `pwd`, `mfa`, `hwk`, …).
    pub amr: Vec<String>,
}

/// What the browser is shown next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The sign-in page.
    SignIn,
    /// The consent page for this client.
    Consent(Box<OAuthClient>),
    /// Back to the client (a code or an error).
    Redirect(String),
}

/// The ports the provider needs.
pub struct OidcPorts {
    /// Clients.
    pub clients: Arc<dyn OAuthClientRepository>,
    /// Codes and grants.
    pub grants: Arc<dyn OAuthGrantRepository>,
    /// Client assertions spent (each `jti` once).
    pub spent: Arc<dyn SpentOnce>,
    /// Users' remembered consents.
    pub consents: Arc<dyn ConsentRepository>,
    /// Sessions (the browser's, and each grant's).
    pub sessions: Arc<dyn SessionRepository>,
    /// Users (the ID token's and `userinfo`'s claims).
    pub users: Arc<dyn UserRepository>,
    /// Tenants (tenant issuers, session lifetimes).
    pub tenants: Arc<dyn TenantRepository>,
    /// Access and ID tokens.
    pub tokens: Arc<dyn TokenService>,
    /// Codes and refresh tokens.
    pub opaque: Arc<dyn OpaqueTokens>,
    /// Sealing the browser session and pending requests.
    pub secrets: Arc<dyn SecretBox>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// The audit trail.
    pub audit: Arc<dyn AuditLog>,
    /// `PUBLIC_URL`, `SESSION_TTL`.
    pub settings: Arc<dyn Settings>,
    /// Every replica's cached live sessions: a grant the provider revokes is dropped from
    /// them at once, as a logout's is.
    pub live_sessions: Arc<dyn Cache<SessionId, Session>>,
    /// Every replica's cached profiles: a service account's roles set again are dropped
    /// from them at once.
    pub profiles: Arc<dyn Cache<UserId, User>>,
}

/// The OpenID provider.
pub struct OidcProvider {
    pub(crate) ports: OidcPorts,
}

impl OidcProvider {
    /// A provider over `ports`.
    pub fn new(ports: OidcPorts) -> Self {
        Self { ports }
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        chrono::SubsecRound::trunc_subsecs(self.ports.clock.now(), 6)
    }

    /// The issuer at `PUBLIC_URL` (`slug` none) or `PUBLIC_URL/t/{slug}` (an active
    /// tenant's; `NotFound` otherwise).
    pub async fn issuer(&self, slug: Option<&str>) -> Result<Issuer, CoreError> {
        let base = self.ports.settings.identity().public_url;
        let Some(slug) = slug else {
            return Ok(Issuer {
                url: base,
                tenant: None,
            });
        };
        let parsed = Slug::parse(slug).map_err(|_| CoreError::NotFound("issuer".into()))?;
        match self.ports.tenants.get_by_slug(&parsed).await? {
            Some(t) if t.status == TenantStatus::Active => Ok(Issuer {
                url: format!("{base}/t/{}", t.slug),
                tenant: Some(t.id),
            }),
            _ => Err(CoreError::NotFound("issuer".into())),
        }
    }

    /// What `issuer` publishes at its `/.well-known/openid-configuration`.
    pub fn metadata(&self, issuer: &Issuer) -> serde_json::Value {
        crate::oauth::discovery::metadata(&issuer.url, &self.ports.settings.identity().public_url)
    }

    /// The client named by `client_id`, if it exists and the issuer may serve it.
    pub async fn client(
        &self,
        issuer: &Issuer,
        client_id: &str,
    ) -> Result<Option<OAuthClient>, CoreError> {
        let Ok(id) = client_id.parse::<ClientId>() else {
            return Ok(None);
        };
        Ok(self
            .ports
            .clients
            .get(id)
            .await?
            .filter(|c| issuer.tenant.is_none_or(|t| t == c.tenant_id)))
    }

    /// The tenant of a pending request (its slug signs the user in; its name heads the page).
    pub async fn tenant(
        &self,
        request: &AuthorizationRequest,
    ) -> Result<usvc_core::Tenant, CoreError> {
        self.ports
            .tenants
            .get(request.tenant_id)
            .await?
            .filter(|t| t.status == TenantStatus::Active)
            .ok_or_else(|| CoreError::NotFound("tenant".into()))
    }

    /// Checks an authorization request (audited when refused).
    pub async fn validate(
        &self,
        issuer: &Issuer,
        params: &AuthorizationParams,
        origin: &Origin,
    ) -> Result<(AuthorizationRequest, OAuthClient), Refusal> {
        let client = match params.client_id.as_deref() {
            Some(id) => self.client(issuer, id).await.map_err(|e| {
                tracing::warn!(error = %e, "an authorization request could not be checked");
                Refusal::Page("the service could not check this request; try again".into())
            })?,
            None => None,
        };
        let Some(client) = client else {
            return Err(Refusal::Page(
                "no application with this client_id is registered here".into(),
            ));
        };
        match request::check(&issuer.url, &client, params, self.now()) {
            Ok(request) => Ok((request, client)),
            Err(refusal) => {
                let reason = match &refusal {
                    Refusal::Page(reason) => reason.clone(),
                    Refusal::Redirect(r) => format!("{}: {}", r.error, r.description),
                };
                let entry = AuditEntry::system(
                    client.tenant_id,
                    audit::OAUTH_AUTHORIZE_REFUSED,
                    self.now(),
                )
                .from(Actor::Anonymous, origin)
                .on(ResourceRef::one("oauth_client", client.id))
                .outcome(usvc_core::Outcome::Failure)
                .details(json!({ "reason": reason }));
                if let Err(e) = self.ports.audit.append(entry).await {
                    tracing::warn!(error = %e, "an authorization refusal was not audited");
                }
                Err(refusal)
            }
        }
    }

    fn seal<T: Serialize>(&self, value: &T, context: &[u8]) -> Result<String, CoreError> {
        crate::sealed::seal(self.ports.secrets.as_ref(), value, context)
    }

    fn open<T: for<'de> Deserialize<'de>>(&self, sealed: &str, context: &[u8]) -> Option<T> {
        crate::sealed::open(self.ports.secrets.as_ref(), sealed, context)
    }

    /// A pending request, sealed to travel through the sign-in pages (any replica opens it).
    pub fn seal_request(&self, request: &AuthorizationRequest) -> Result<String, CoreError> {
        self.seal(request, REQUEST_CONTEXT)
    }

    /// A pending request back from the sign-in pages; `Unauthenticated` if it was tampered
    /// with or is older than [`REQUEST_LIFETIME`].
    pub fn open_request(&self, sealed: &str) -> Result<AuthorizationRequest, CoreError> {
        self.open::<AuthorizationRequest>(sealed, REQUEST_CONTEXT)
            .filter(|r| self.now() - r.received_at <= REQUEST_LIFETIME)
            .ok_or_else(|| {
                CoreError::Unauthenticated(
                    "this sign-in has expired: return to the application and start again".into(),
                )
            })
    }

    /// The browser session of a completed sign-in (its access token names the user and
    /// session), sealed for its cookie.
    pub fn browser_session(
        &self,
        access_token: &str,
        amr: &[&str],
    ) -> Result<(BrowserSession, String), CoreError> {
        let claims = self.ports.tokens.verify(access_token)?;
        let browser = BrowserSession {
            session: claims.sid,
            tenant: claims.tid,
            user: claims.sub,
            auth_time: self.now(),
            amr: amr.iter().map(|s| (*s).to_owned()).collect(),
        };
        let sealed = self.seal(&browser, BROWSER_CONTEXT)?;
        Ok((browser, sealed))
    }

    /// The browser session its cookie holds, if the cookie is ours and the session live.
    pub async fn open_browser(&self, sealed: &str) -> Result<Option<BrowserSession>, CoreError> {
        let Some(browser) = self.open::<BrowserSession>(sealed, BROWSER_CONTEXT) else {
            return Ok(None);
        };
        let live = self
            .ports
            .sessions
            .get(browser.tenant, browser.session)
            .await?
            .is_some_and(|s| s.is_live(self.ports.clock.now()) && s.user_id == browser.user);
        Ok(live.then_some(browser))
    }

    /// What happens to `request` given the browser's sign-in (if any): sign in (again), ask
    /// for consent, or go back to the client with a code (or an error for `prompt=none`).
    pub async fn next(
        &self,
        request: &AuthorizationRequest,
        browser: Option<&BrowserSession>,
        consented: bool,
        origin: &Origin,
    ) -> Result<Next, CoreError> {
        let now = self.now();
        // The client as registered now: a redirect URI or scope its administrators removed
        // while the user signed in is not used.
        let client = self
            .ports
            .clients
            .get(request.client_id)
            .await?
            .filter(|c| {
                c.redirect_uris.contains(&request.redirect_uri)
                    && request.scope.iter().all(|s| c.scopes.contains(s))
            })
            .ok_or_else(|| {
                CoreError::NotFound("application (its registration has changed)".into())
            })?;
        let fresh = |b: &BrowserSession| b.auth_time >= request.received_at;
        let has_mfa = |b: &BrowserSession| b.amr.iter().any(|m| m == "mfa");
        if let Some(b) = browser {
            if request.mfa_asked && fresh(b) && !has_mfa(b) {
                // Signed in just now, without the second factor the account does not have.
                return Ok(Next::Redirect(self.error(
                    request,
                    "unmet_authentication_requirements",
                    "the user has no second factor",
                )));
            }
        }
        let signed_in = browser.filter(|b| {
            b.tenant == request.tenant_id
                && (!request.prompt.login || fresh(b))
                && request.max_age.is_none_or(|max| {
                    (now - b.auth_time).num_seconds() <= i64::try_from(max).unwrap_or(i64::MAX)
                })
                && (!request.mfa_asked || has_mfa(b))
        });
        let Some(browser) = signed_in else {
            if request.prompt.none {
                return Ok(Next::Redirect(self.error(
                    request,
                    "login_required",
                    "the user must sign in",
                )));
            }
            return Ok(Next::SignIn);
        };
        let asks = !client.trusted || request.prompt.consent;
        if asks && consented {
            self.remember(request, browser, origin).await?;
        }
        let needs_consent =
            asks && !consented && !self.remembered(request, browser, &client).await?;
        if needs_consent {
            if request.prompt.none {
                return Ok(Next::Redirect(self.error(
                    request,
                    "consent_required",
                    "the user must consent",
                )));
            }
            return Ok(Next::Consent(Box::new(client)));
        }
        Ok(Next::Redirect(
            self.issue_code(request, browser, origin).await?,
        ))
    }

    /// Ends a browser's earlier sign-in when another replaces it on the same browser.
    pub async fn end_browser(
        &self,
        browser: &BrowserSession,
        origin: &Origin,
    ) -> Result<(), CoreError> {
        let now = self.now();
        let entry = AuditEntry::system(browser.tenant, audit::SESSION_REVOKED, now)
            .from(Actor::in_session(browser.user, browser.session), origin)
            .on(ResourceRef::one("session", browser.session))
            .details(json!({ "reason": "signed_in_again" }));
        self.ports
            .sessions
            .revoke(
                browser.tenant,
                browser.session,
                "signed_in_again".into(),
                now,
                &entry,
            )
            .await?;
        self.ports.live_sessions.invalidate(&browser.session).await
    }

    /// A hosted form came without the browser's CSRF token: refused, and audited.
    pub async fn csrf_refused(&self, request: &AuthorizationRequest, origin: &Origin) {
        let entry = AuditEntry::system(request.tenant_id, audit::OAUTH_CSRF_REFUSED, self.now())
            .from(Actor::Anonymous, origin)
            .on(ResourceRef::one("oauth_client", request.client_id))
            .outcome(usvc_core::Outcome::Denied);
        if let Err(e) = self.ports.audit.append(entry).await {
            tracing::warn!(error = %e, "a CSRF refusal was not audited");
        }
    }

    /// The user declined: back to the client with `access_denied`.
    pub async fn deny(&self, request: &AuthorizationRequest, origin: &Origin) -> String {
        let entry = AuditEntry::system(request.tenant_id, audit::OAUTH_CONSENT_DENIED, self.now())
            .from(Actor::Anonymous, origin)
            .on(ResourceRef::one("oauth_client", request.client_id));
        if let Err(e) = self.ports.audit.append(entry).await {
            tracing::warn!(error = %e, "a declined consent was not audited");
        }
        self.error(request, "access_denied", "the user declined")
    }

    /// An error answer to `request`'s client.
    pub fn error(
        &self,
        request: &AuthorizationRequest,
        error: &'static str,
        description: &str,
    ) -> String {
        ErrorRedirect {
            redirect_uri: request.redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: request.state.clone(),
            issuer: request.issuer.clone(),
        }
        .location()
    }

    async fn issue_code(
        &self,
        request: &AuthorizationRequest,
        browser: &BrowserSession,
        origin: &Origin,
    ) -> Result<String, CoreError> {
        let now = self.now();
        let code = self.ports.opaque.generate()?;
        let stored = AuthorizationCode {
            hash: code.hash,
            tenant_id: request.tenant_id,
            client_id: request.client_id,
            user_id: browser.user,
            browser_session: browser.session,
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            auth_time: browser.auth_time,
            amr: browser.amr.clone(),
            issuer: request.issuer.clone(),
            created_at: now,
            expires_at: now + CODE_LIFETIME,
            redeemed_at: None,
            session_id: None,
        };
        let entry = AuditEntry::system(request.tenant_id, audit::OAUTH_CODE_ISSUED, now)
            .from(Actor::in_session(browser.user, browser.session), origin)
            .on(ResourceRef::one("oauth_client", request.client_id))
            .details(
                json!({ "scope": request.scope.join(" "), "redirect_uri": request.redirect_uri }),
            );
        self.ports.grants.issue_code(&stored, &entry).await?;
        let mut pairs = vec![("code", code.token)];
        if let Some(state) = &request.state {
            pairs.push(("state", state.clone()));
        }
        pairs.push(("iss", request.issuer.clone()));
        Ok(request::with_query(&request.redirect_uri, &pairs))
    }
}
