//! Remembered consent (docs/oidc.md): once a user allows an application that is not `trusted`,
//! the consent page is not shown again for the scopes they allowed (unless the application
//! asks `prompt=consent`); a request for more asks again, and allowing adds them. The user
//! lists their consents and withdraws one, which ends that application's access at once.
//!
//! A remembered consent is a promise about the application as it was allowed, so it does not
//! stand in for the page when: the request asks `api` (acting as the user in this API, asked
//! every time, as only an administrator holding every action may register an application
//! that skips it); the application's registration changed since (new redirect URIs, a new
//! secret: whoever changed it is not whom the user allowed); or a public client returns to a
//! redirect URI that is not https (another app on the device can claim a custom scheme or a
//! loopback port, RFC 8252 section 8.6).

use serde_json::json;
use usvc_core::{
    Actor, AuditEntry, ClientId, ClientKind, CoreError, OAuthClient, OAuthConsent, Origin,
    Principal, ResourceRef,
};

use crate::audit::actions as audit;
use crate::oauth::provider::{BrowserSession, OidcProvider};
use crate::oauth::request::AuthorizationRequest;

/// A consent with the name of the application it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentView {
    /// The consent.
    pub consent: OAuthConsent,
    /// The application's name as registered now.
    pub client_name: String,
}

impl OidcProvider {
    /// Whether the browser's user already allowed `client` everything `request` asks.
    pub(crate) async fn remembered(
        &self,
        request: &AuthorizationRequest,
        browser: &BrowserSession,
        client: &OAuthClient,
    ) -> Result<bool, CoreError> {
        let not_https =
            client.kind == ClientKind::Public && !request.redirect_uri.starts_with("https://");
        if request.prompt.consent || request.scope.iter().any(|s| s == "api") || not_https {
            return Ok(false);
        }
        let consent = self
            .ports
            .consents
            .find(browser.tenant, browser.user, client.id)
            .await?;
        Ok(consent.is_some_and(|c| c.granted_at >= client.updated_at && c.covers(&request.scope)))
    }

    /// Remembers that the browser's user allowed `request`'s scopes to its client.
    pub(crate) async fn remember(
        &self,
        request: &AuthorizationRequest,
        browser: &BrowserSession,
        origin: &Origin,
    ) -> Result<(), CoreError> {
        let now = self.now();
        let earlier = self
            .ports
            .consents
            .find(browser.tenant, browser.user, request.client_id)
            .await?;
        let consent = earlier
            .unwrap_or(OAuthConsent {
                tenant_id: browser.tenant,
                user_id: browser.user,
                client_id: request.client_id,
                scope: Vec::new(),
                granted_at: now,
            })
            .widened(&request.scope, now);
        let entry = AuditEntry::system(browser.tenant, audit::OAUTH_CONSENT_GIVEN, now)
            .from(Actor::in_session(browser.user, browser.session), origin)
            .on(ResourceRef::one("oauth_client", request.client_id))
            .details(json!({ "scope": consent.scope }));
        self.ports.consents.remember(&consent, &entry).await
    }

    /// The caller's consents, newest first (those of applications since deleted left out).
    pub async fn consents(&self, principal: &Principal) -> Result<Vec<ConsentView>, CoreError> {
        let consents = self
            .ports
            .consents
            .list(principal.tenant, principal.user)
            .await?;
        let mut views = Vec::with_capacity(consents.len());
        for consent in consents {
            let client = self.ports.clients.get(consent.client_id).await?;
            if let Some(client) = client.filter(|c| c.tenant_id == principal.tenant) {
                views.push(ConsentView {
                    consent,
                    client_name: client.name,
                });
            }
        }
        Ok(views)
    }

    /// Withdraws the caller's consent to `client`: the application asks again next time, and
    /// its grants of the caller (their tokens, refresh tokens included) end now. `NotFound`
    /// if there was none.
    pub async fn withdraw_consent(
        &self,
        principal: &Principal,
        client: ClientId,
    ) -> Result<(), CoreError> {
        let now = self.now();
        let entry = AuditEntry::by(principal, audit::OAUTH_CONSENT_WITHDRAWN, now)
            .on(ResourceRef::one("oauth_client", client));
        let revoked = self
            .ports
            .consents
            .forget(principal.tenant, principal.user, client, now, &entry)
            .await?
            .ok_or_else(|| CoreError::NotFound("consent".into()))?;
        // Committed: every replica drops what it cached, each failure logged (the sessions are
        // revoked in the store; a cached copy lives at most its TTL).
        for session in &revoked {
            if let Err(e) = self.ports.live_sessions.invalidate(session).await {
                tracing::warn!(%session, error = %e, "a withdrawn grant stays cached until its TTL");
            }
        }
        Ok(())
    }
}
