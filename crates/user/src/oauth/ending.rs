//! Ending what the provider handed out: token revocation (RFC 7009), introspection (RFC
//! 7662) and RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), which ends the
//! browser's sign-in and every grant opened from it.

use serde_json::{json, Value};
use usvc_core::{Actor, AuditEntry, ClientKind, Origin, Outcome, ResourceRef, SessionId, TenantId};

use crate::audit::actions as audit;
use crate::auth::CLIENT_REFRESH_PREFIX;
use crate::oauth::client_auth::ClientCredentials;
use crate::oauth::errors::OAuthError;
use crate::oauth::provider::{BrowserSession, Issuer, OidcProvider};

/// What a logout request asked, checked: which sign-in ends and where the browser goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logout {
    /// The sign-in to end (the ID token hint's `sid`), with its tenant.
    pub sign_in: Option<(TenantId, SessionId)>,
    /// Where to send the browser afterwards (a registered post-logout redirect URI, with
    /// `state`), if the client named one.
    pub redirect: Option<String>,
}

impl OidcProvider {
    /// Revokes `token` if it was issued to the calling client: a refresh token ends its
    /// grant, an access token its grant's session. Unknown tokens are not an error (RFC 7009
    /// section 2.2).
    pub async fn revoke(
        &self,
        issuer: &Issuer,
        credentials: &ClientCredentials,
        token: Option<&str>,
        origin: &Origin,
    ) -> Result<(), OAuthError> {
        let client = self.authenticated(issuer, credentials, origin).await?;
        let token = token.ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        let session = if token.starts_with(CLIENT_REFRESH_PREFIX) {
            self.ports
                .grants
                .grant_of_refresh(self.ports.opaque.hash(token))
                .await?
                .filter(|g| g.client_id == client.id && g.issuer == issuer.url)
                .map(|g| (g.tenant_id, g.session_id))
        } else {
            self.ports
                .tokens
                .verify(token)
                .ok()
                .filter(|c| c.client_id.as_deref() == Some(client.id.to_string().as_str()))
                .map(|c| (c.tid, c.sid))
        };
        let Some((tenant, session)) = session else {
            return Ok(());
        };
        let now = self.now();
        let entry = AuditEntry::system(tenant, audit::OAUTH_TOKEN_REVOKED, now)
            .from(Actor::Anonymous, origin)
            .on(ResourceRef::one("oauth_client", client.id))
            .details(json!({ "session_id": session }));
        self.ports
            .sessions
            .revoke(tenant, session, "revoked_by_client".into(), now, &entry)
            .await?;
        self.ports.live_sessions.invalidate(&session).await?;
        Ok(())
    }

    /// What an access token is (RFC 7662), for a confidential client of its tenant: active
    /// while its signature, expiry and grant hold. Anything else is `{"active": false}`.
    pub async fn introspect(
        &self,
        issuer: &Issuer,
        credentials: &ClientCredentials,
        token: Option<&str>,
        origin: &Origin,
    ) -> Result<Value, OAuthError> {
        let client = self.authenticated(issuer, credentials, origin).await?;
        if client.kind != ClientKind::Confidential {
            return Err(OAuthError::invalid_client(
                "introspection is for confidential clients",
            ));
        }
        let token = token.ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        let inactive = json!({ "active": false });
        let Ok(claims) = self.ports.tokens.verify(token) else {
            return Ok(inactive);
        };
        if claims.tid != client.tenant_id {
            return Ok(inactive);
        }
        let live = self
            .ports
            .sessions
            .get(claims.tid, claims.sid)
            .await?
            .is_some_and(|s| s.is_live(self.ports.clock.now()) && s.user_id == claims.sub);
        let entry = AuditEntry::system(client.tenant_id, audit::OAUTH_INTROSPECTED, self.now())
            .from(Actor::Anonymous, origin)
            .on(ResourceRef::one("oauth_client", client.id))
            .details(json!({ "active": live, "session_id": claims.sid }));
        self.ports.audit.append(entry).await?;
        if !live {
            return Ok(inactive);
        }
        let mut answer = json!({
            "active": true,
            "token_type": "Bearer",
            "sub": claims.sub,
            "iss": claims.iss,
            "aud": claims.aud,
            "exp": claims.exp,
            "iat": claims.iat,
            "jti": claims.jti,
        });
        if let Some(scope) = claims.scope {
            answer["scope"] = json!(scope);
        }
        if let Some(client_id) = claims.client_id {
            answer["client_id"] = json!(client_id);
        }
        Ok(answer)
    }

    /// Checks a logout request: an `id_token_hint` this issuer signed names the sign-in to
    /// end; a `post_logout_redirect_uri` is followed only if the hint's client (or the named
    /// `client_id`) registered it exactly. Without a hint, nothing is ended here: the user
    /// confirms on a page first (a link alone must not sign anyone out).
    pub async fn logout_request(
        &self,
        issuer: &Issuer,
        id_token_hint: Option<&str>,
        client_id: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> Result<Logout, usvc_core::CoreError> {
        let hint = id_token_hint
            .and_then(|t| self.ports.tokens.verify_own(t).ok())
            .filter(|c| c["iss"] == json!(issuer.url));
        let audience = hint
            .as_ref()
            .and_then(|c| c["aud"].as_str().map(str::to_owned))
            .or_else(|| client_id.map(str::to_owned));
        let client = match audience.as_deref() {
            Some(id) => self.client(issuer, id).await?,
            None => None,
        };
        let sign_in = match (&hint, &client) {
            (Some(claims), Some(client)) => claims["sid"]
                .as_str()
                .and_then(|s| s.parse::<SessionId>().ok())
                .map(|sid| (client.tenant_id, sid)),
            _ => None,
        };
        let redirect = match (client, post_logout_redirect_uri) {
            (Some(client), Some(uri))
                if client.post_logout_redirect_uris.iter().any(|u| u == uri) =>
            {
                let mut pairs = Vec::new();
                if let Some(state) = state {
                    pairs.push(("state", state.to_owned()));
                }
                Some(crate::oauth::request::with_query(uri, &pairs))
            }
            _ => None,
        };
        Ok(Logout { sign_in, redirect })
    }

    /// Ends a sign-in and every grant opened from it; returns how many sessions ended.
    pub async fn end_sign_in(
        &self,
        tenant: TenantId,
        sign_in: SessionId,
        origin: &Origin,
    ) -> Result<usize, usvc_core::CoreError> {
        let now = self.now();
        let entry = AuditEntry::system(tenant, audit::OAUTH_LOGOUT, now)
            .from(Actor::Anonymous, origin)
            .on(ResourceRef::one("session", sign_in))
            .outcome(Outcome::Success);
        let ended = self
            .ports
            .grants
            .end_sign_in(tenant, sign_in, "logout".into(), now, &entry)
            .await?;
        self.ports.live_sessions.invalidate_many(&ended).await?;
        Ok(ended.len())
    }

    /// The browser's own sign-in ends (the confirmed logout page).
    pub async fn end_browser_sign_in(
        &self,
        browser: &BrowserSession,
        origin: &Origin,
    ) -> Result<usize, usvc_core::CoreError> {
        self.end_sign_in(browser.tenant, browser.session, origin)
            .await
    }
}
