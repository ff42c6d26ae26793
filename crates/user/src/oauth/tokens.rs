//! The token endpoint (RFC 6749 section 3.2): codes become grants, refresh tokens rotate
//! (reuse revokes the grant, as any session's); and what a grant's tokens say (ID token,
//! `userinfo`).

use serde_json::{json, Map, Value};
use usvc_core::ports::TokenRequest;
use usvc_core::{
    Actor, AuditEntry, AuthorizationCode, ClientKind, GrantType, OAuthClient, OAuthGrant, Origin,
    Outcome, RefreshOutcome, ResourceRef, SessionId, User, UserStatus,
};

use crate::audit::actions as audit;
use crate::auth::{new_session, CLIENT_REFRESH_PREFIX};
use crate::oauth::client_auth::ClientCredentials;
use crate::oauth::errors::OAuthError;
use crate::oauth::provider::{Issuer, OidcProvider};
use crate::oauth::request::{pkce_matches, ACR_MFA};

/// A token request's form, as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenParams {
    /// `authorization_code`, `refresh_token` or `client_credentials`.
    pub grant_type: Option<String>,
    /// The code.
    pub code: Option<String>,
    /// The redirect URI the code was sent to.
    pub redirect_uri: Option<String>,
    /// PKCE.
    pub code_verifier: Option<String>,
    /// The refresh token.
    pub refresh_token: Option<String>,
    /// A narrower scope (refresh), or the scope asked for (`client_credentials`).
    pub scope: Option<String>,
}

/// A successful token response (RFC 6749 section 5.1, OpenID Connect Core section 3.1.3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    /// The access token (a JWT; `userinfo` takes it, and this API when `api` was granted).
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// A refresh token, for clients allowed the `refresh_token` grant.
    pub refresh_token: Option<String>,
    /// The ID token, when `openid` was granted.
    pub id_token: Option<String>,
    /// The scopes granted, space-separated.
    pub scope: String,
}

impl OidcProvider {
    /// Answers a token request at `issuer`.
    pub async fn token(
        &self,
        issuer: &Issuer,
        credentials: &ClientCredentials,
        params: &TokenParams,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticated(issuer, credentials, origin).await?;
        let answer = match params.grant_type.as_deref() {
            Some("authorization_code") => self.redeem(issuer, &client, params, origin).await,
            Some("refresh_token") => self.refresh(issuer, &client, params, origin).await,
            Some("client_credentials") => {
                self.client_credentials(issuer, &client, params.scope.as_deref(), origin)
                    .await
            }
            Some(other) => Err(OAuthError::unsupported_grant_type(&format!(
                "`{other}` is not a grant of this provider"
            ))),
            None => Err(OAuthError::invalid_request("grant_type is missing")),
        };
        if let Err(e) = &answer {
            self.refused(issuer, Some(&client), e, origin).await;
        }
        answer
    }

    /// The calling client, by the method it registered; a failure is audited in the
    /// claimed client's tenant when that client exists (a wrong secret leaves a record).
    pub(crate) async fn authenticated(
        &self,
        issuer: &Issuer,
        credentials: &ClientCredentials,
        origin: &Origin,
    ) -> Result<OAuthClient, OAuthError> {
        match self.authenticate_client(issuer, credentials).await {
            Ok(client) => Ok(client),
            Err(e) => {
                let mut claimed = None;
                for id in credentials.claimed_ids() {
                    claimed = self.client(issuer, &id).await.ok().flatten();
                    if claimed.is_some() {
                        break;
                    }
                }
                self.refused(issuer, claimed.as_ref(), &e, origin).await;
                Err(e)
            }
        }
    }

    /// Audits a refused token request (in the client's tenant; unknown clients have none).
    async fn refused(
        &self,
        _issuer: &Issuer,
        client: Option<&OAuthClient>,
        error: &OAuthError,
        origin: &Origin,
    ) {
        if let Some(e) = &error.internal {
            tracing::warn!(error = %e, "a token request failed");
        }
        let Some(client) = client else {
            tracing::info!(error = error.error, reason = %error.description, "token request from an unauthenticated client");
            return;
        };
        let entry = AuditEntry::system(client.tenant_id, audit::OAUTH_TOKEN_REFUSED, self.now())
            .from(Actor::Anonymous, origin)
            .on(ResourceRef::one("oauth_client", client.id))
            .outcome(Outcome::Failure)
            .details(json!({ "error": error.error, "reason": error.description }));
        if let Err(e) = self.ports.audit.append(entry).await {
            tracing::warn!(error = %e, "a refused token request was not audited");
        }
    }

    async fn redeem(
        &self,
        issuer: &Issuer,
        client: &OAuthClient,
        params: &TokenParams,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.allows(GrantType::AuthorizationCode) {
            return Err(OAuthError::unauthorized_client(
                "this client may not redeem codes",
            ));
        }
        let presented = params
            .code
            .as_deref()
            .ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
        let hash = self.ports.opaque.hash(presented);
        let now = self.now();
        let code = self
            .ports
            .grants
            .find_code(hash.clone())
            .await?
            .ok_or_else(|| OAuthError::invalid_grant("unknown code"))?;
        if code.client_id != client.id {
            return Err(OAuthError::invalid_grant(
                "this code was issued to another client",
            ));
        }
        if code.redeemed_at.is_some() {
            self.code_reused(&code, origin).await?;
            return Err(OAuthError::invalid_grant("this code was already used"));
        }
        if code.expires_at <= now {
            return Err(OAuthError::invalid_grant("this code has expired"));
        }
        if params.redirect_uri.as_deref() != Some(code.redirect_uri.as_str()) {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the authorization request's",
            ));
        }
        if code.issuer != issuer.url {
            return Err(OAuthError::invalid_grant(
                "this code was issued by another issuer",
            ));
        }
        if !client.redirect_uris.contains(&code.redirect_uri) {
            return Err(OAuthError::invalid_grant(
                "the redirect URI is no longer registered",
            ));
        }
        let verified = match (&code.code_challenge, params.code_verifier.as_deref()) {
            (Some(challenge), Some(verifier)) => pkce_matches(challenge, verifier),
            (None, None) => client.kind == ClientKind::Confidential,
            // A verifier for a request that sent no challenge, or no verifier for one that
            // did: either way someone else's code (RFC 9700 section 2.1.1).
            _ => false,
        };
        if !verified {
            self.ports.grants.burn_code(hash, now).await?;
            return Err(OAuthError::invalid_grant(
                "the PKCE code_verifier does not match",
            ));
        }
        let tenant = self
            .ports
            .tenants
            .get(code.tenant_id)
            .await?
            .ok_or_else(|| OAuthError::invalid_grant("the tenant is gone"))?;
        let user = self.active_user(&code).await?;
        let session = new_session(&tenant, &user, origin, now, self.ports.settings.as_ref())?;
        let grant = OAuthGrant {
            session_id: session.id,
            tenant_id: code.tenant_id,
            client_id: client.id,
            user_id: user.id,
            browser_session: code.browser_session,
            scope: code.scope.clone(),
            auth_time: code.auth_time,
            amr: code.amr.clone(),
            issuer: code.issuer.clone(),
            created_at: now,
        };
        let refresh = self.refresh_token(client)?;
        let entry = AuditEntry::system(code.tenant_id, audit::OAUTH_TOKEN_ISSUED, now)
            .from(Actor::in_session(user.id, session.id), origin)
            .on(ResourceRef::one("oauth_client", client.id))
            .details(json!({ "grant_type": "authorization_code", "scope": code.scope.join(" ") }));
        // The answer is made before the code is spent: a failure to sign must not leave the
        // client with a spent code whose retry would count as reuse.
        let answer = self.respond(
            client,
            &grant,
            &user,
            code.nonce.as_deref(),
            Some(refresh.0),
        )?;
        let redeemed = self
            .ports
            .grants
            .redeem_code(hash, now, &session, refresh.1, &grant, &entry)
            .await?;
        if !redeemed {
            return Err(OAuthError::invalid_grant("this code was already used"));
        }
        Ok(answer)
    }

    /// A code came back after it was redeemed: whoever holds it now is not who redeemed it,
    /// or a client replays. The grant it opened is revoked (RFC 6749 section 4.1.2).
    async fn code_reused(
        &self,
        code: &AuthorizationCode,
        origin: &Origin,
    ) -> Result<(), OAuthError> {
        let now = self.now();
        let entry = AuditEntry::system(code.tenant_id, audit::OAUTH_CODE_REUSED, now)
            .from(Actor::Anonymous, origin)
            .on(ResourceRef::one("oauth_client", code.client_id))
            .outcome(Outcome::Failure)
            .details(json!({ "session_id": code.session_id }));
        match code.session_id {
            Some(session) => {
                let revoked = self
                    .ports
                    .sessions
                    .revoke(code.tenant_id, session, "code_reuse".into(), now, &entry)
                    .await?;
                self.ports.live_sessions.invalidate(&session).await?;
                if !revoked {
                    // Already ended: the reuse is still on record.
                    self.ports.audit.append(entry).await?;
                }
            }
            None => self.ports.audit.append(entry).await?,
        }
        Ok(())
    }

    async fn active_user(&self, code: &AuthorizationCode) -> Result<User, OAuthError> {
        self.ports
            .users
            .get(code.tenant_id, code.user_id)
            .await?
            .filter(|u| u.status == UserStatus::Active)
            .ok_or_else(|| OAuthError::invalid_grant("the account is no longer active"))
    }

    /// A new refresh token of `client` and its hash.
    fn refresh_token(&self, client: &OAuthClient) -> Result<(String, String), OAuthError> {
        let random = self.ports.opaque.generate()?;
        let token = format!("{CLIENT_REFRESH_PREFIX}{}.{}", client.id, random.token);
        let hash = self.ports.opaque.hash(&token);
        Ok((token, hash))
    }

    async fn refresh(
        &self,
        issuer: &Issuer,
        client: &OAuthClient,
        params: &TokenParams,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.allows(GrantType::RefreshToken) {
            return Err(OAuthError::unauthorized_client(
                "this client may not refresh",
            ));
        }
        let presented = params
            .refresh_token
            .as_deref()
            .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
        // The token names its client: another client's is refused before it is spent.
        let owner = presented
            .strip_prefix(CLIENT_REFRESH_PREFIX)
            .and_then(|rest| rest.split_once('.'))
            .map(|(id, _)| id);
        if owner != Some(client.id.to_string().as_str()) {
            return Err(OAuthError::invalid_grant(
                "not a refresh token of this client",
            ));
        }
        let hash = self.ports.opaque.hash(presented);
        // What it may be refreshed for is settled before it is spent: a refused request
        // leaves the token as it was.
        let mut grant = self
            .ports
            .grants
            .grant_of_refresh(hash.clone())
            .await?
            .filter(|g| g.client_id == client.id && g.issuer == issuer.url)
            .ok_or_else(|| OAuthError::invalid_grant("unknown refresh token"))?;
        // Scopes the client's registration no longer allows are not given again.
        grant.scope.retain(|s| client.scopes.contains(s));
        if let Some(narrower) = params.scope.as_deref() {
            let asked: Vec<String> = narrower
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if asked.iter().any(|s| !grant.scope.contains(s)) {
                return Err(OAuthError::invalid_scope("more than was granted"));
            }
            grant.scope = asked;
        }
        let now = self.now();
        let next = self.refresh_token(client)?;
        let outcome = self
            .ports
            .sessions
            .rotate_refresh(hash, next.1, now)
            .await?;
        let (session, user) = match outcome {
            RefreshOutcome::Rotated(session, user) => (session, user),
            RefreshOutcome::Reused(session) => {
                self.ports.live_sessions.invalidate(&session.id).await?;
                let entry = AuditEntry::system(session.tenant_id, audit::REFRESH_REUSED, now)
                    .from(Actor::in_session(session.user_id, session.id), origin)
                    .on(ResourceRef::one("oauth_client", client.id))
                    .outcome(Outcome::Failure);
                self.ports.audit.append(entry).await?;
                return Err(OAuthError::invalid_grant(
                    "this refresh token was already used: the grant is revoked",
                ));
            }
            RefreshOutcome::Invalid => {
                return Err(OAuthError::invalid_grant(
                    "unknown or expired refresh token",
                ))
            }
        };
        let Some(user) = user.filter(|u| u.status == UserStatus::Active) else {
            self.end(session.tenant_id, session.id, "account_inactive")
                .await?;
            return Err(OAuthError::invalid_grant("the account is no longer active"));
        };
        let answer = self.respond(client, &grant, &user, None, Some(next.0))?;
        let entry = AuditEntry::system(session.tenant_id, audit::OAUTH_TOKEN_ISSUED, now)
            .from(Actor::in_session(user.id, session.id), origin)
            .on(ResourceRef::one("oauth_client", client.id))
            .details(json!({ "grant_type": "refresh_token", "scope": grant.scope.join(" ") }));
        self.ports.audit.append(entry).await?;
        Ok(answer)
    }

    async fn end(
        &self,
        tenant: usvc_core::TenantId,
        session: SessionId,
        reason: &str,
    ) -> Result<(), OAuthError> {
        let now = self.now();
        let entry = AuditEntry::system(tenant, audit::SESSION_REVOKED, now)
            .on(ResourceRef::one("session", session))
            .details(json!({ "reason": reason }));
        self.ports
            .sessions
            .revoke(tenant, session, reason.into(), now, &entry)
            .await?;
        self.ports.live_sessions.invalidate(&session).await?;
        Ok(())
    }

    /// The tokens of `grant`: an access token scoped to it, its refresh token (if the client
    /// may refresh), and an ID token when `openid` was granted.
    fn respond(
        &self,
        client: &OAuthClient,
        grant: &OAuthGrant,
        user: &User,
        nonce: Option<&str>,
        refresh: Option<String>,
    ) -> Result<TokenResponse, OAuthError> {
        let scope = grant.scope.join(" ");
        let issued = self.ports.tokens.issue(&TokenRequest {
            user: user.id,
            tenant: user.tenant_id,
            session: grant.session_id,
            roles: if grant.scope.iter().any(|s| s == "api") {
                user.roles.clone()
            } else {
                Vec::new()
            },
            client_id: Some(client.id),
            scope: Some(scope.clone()),
        })?;
        let now = self.ports.clock.now();
        let expires_in = u64::try_from((issued.expires_at - now).num_seconds()).unwrap_or(0);
        let id_token = if grant.scope.iter().any(|s| s == "openid") {
            let mut claims = Map::new();
            claims.insert("iss".into(), json!(grant.issuer));
            claims.insert("sub".into(), json!(user.id));
            claims.insert("aud".into(), json!(client.id));
            claims.insert("azp".into(), json!(client.id));
            claims.insert("iat".into(), json!(now.timestamp()));
            claims.insert("exp".into(), json!(issued.expires_at.timestamp()));
            claims.insert("auth_time".into(), json!(grant.auth_time.timestamp()));
            claims.insert("sid".into(), json!(grant.browser_session));
            claims.insert("amr".into(), json!(grant.amr));
            if grant.amr.iter().any(|m| m == "mfa") {
                claims.insert("acr".into(), json!(ACR_MFA));
            }
            if let Some(nonce) = nonce {
                claims.insert("nonce".into(), json!(nonce));
            }
            user_claims(user, &grant.scope, &mut claims);
            Some(
                self.ports
                    .tokens
                    .sign_claims(&Value::Object(claims), client.id_token_alg)?,
            )
        } else {
            None
        };
        Ok(TokenResponse {
            access_token: issued.token,
            expires_in,
            refresh_token: refresh.filter(|_| client.allows(GrantType::RefreshToken)),
            id_token,
            scope,
        })
    }

    /// The claims about the user an access token's scopes reveal (OpenID Connect Core
    /// section 5.3): the access token must carry `openid`, and its session must be live.
    pub async fn userinfo(
        &self,
        issuer: &Issuer,
        bearer: &str,
        origin: &Origin,
    ) -> Result<Value, usvc_core::CoreError> {
        let claims = self.ports.tokens.verify(bearer)?;
        if issuer.tenant.is_some_and(|t| t != claims.tid) {
            // A tenant issuer answers for its own tenant's tokens only.
            return Err(usvc_core::CoreError::Unauthenticated(
                "a token of another issuer".into(),
            ));
        }
        let scope: Vec<String> = claims
            .scope
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .map(str::to_owned)
            .collect();
        if !scope.iter().any(|s| s == "openid") {
            return Err(usvc_core::CoreError::Forbidden(
                "the token was not issued with the openid scope".into(),
            ));
        }
        let live = self
            .ports
            .sessions
            .get(claims.tid, claims.sid)
            .await?
            .is_some_and(|s| s.is_live(self.ports.clock.now()) && s.user_id == claims.sub);
        let user = self
            .ports
            .users
            .get(claims.tid, claims.sub)
            .await?
            .filter(|u| live && u.status == UserStatus::Active)
            .ok_or_else(|| usvc_core::CoreError::Unauthenticated("the grant has ended".into()))?;
        let mut answer = Map::new();
        answer.insert("sub".into(), json!(user.id));
        user_claims(&user, &scope, &mut answer);
        let entry = AuditEntry::system(claims.tid, audit::OAUTH_USERINFO, self.now())
            .from(Actor::in_session(user.id, claims.sid), origin)
            .on(ResourceRef::one("user", user.id))
            .details(json!({ "client_id": claims.client_id }));
        self.ports.audit.append(entry).await?;
        Ok(Value::Object(answer))
    }
}

/// The profile claims `scope` opens, into `claims`.
fn user_claims(user: &User, scope: &[String], claims: &mut Map<String, Value>) {
    let has = |s: &str| scope.iter().any(|x| x == s);
    if has("email") {
        claims.insert("email".into(), json!(user.email.as_str()));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    if has("profile") {
        let mut put = |name: &str, value: &Option<String>| {
            if let Some(v) = value {
                claims.insert(name.into(), json!(v));
            }
        };
        put("name", &user.display_name);
        put("given_name", &user.given_name);
        put("family_name", &user.family_name);
        put("locale", &user.locale);
        put("zoneinfo", &user.timezone);
        put("picture", &user.avatar_url);
        claims.insert("updated_at".into(), json!(user.updated_at.timestamp()));
    }
}
