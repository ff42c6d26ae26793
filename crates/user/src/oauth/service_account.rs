//! `client_credentials` (RFC 6749 section 4.4): a confidential client acts as itself, through
//! its *service account*: a user of the tenant whose id is the client's id, with the client's
//! roles, no password and an address nobody can sign up with
//! (`client-{id}@service-accounts.invalid`). Being a user, it is authorised, audited, listed
//! and disabled like one; its tokens say `sub` = the client's id (RFC 9068 section 2.2).

use serde_json::json;
use usvc_core::ports::TokenRequest;
use usvc_core::{
    Actor, AuditEntry, ClientKind, CoreError, Email, GrantType, OAuthClient, OAuthGrant, Origin,
    ResourceRef, Session, SessionId, User, UserId, UserStatus,
};

use crate::audit::actions as audit;
use crate::oauth::errors::OAuthError;
use crate::oauth::provider::{Issuer, OidcProvider};
use crate::oauth::tokens::TokenResponse;

/// The only scope a client's own token can carry: the rest describe a person.
const SERVICE_SCOPES: [&str; 1] = ["api"];

/// What a `client_credentials` request may be given: the scopes asked for (all of them
/// registered and about the client itself), or by default every such scope registered.
fn service_scope(client: &OAuthClient, asked: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let allowed = |s: &str| SERVICE_SCOPES.contains(&s) && client.scopes.iter().any(|c| c == s);
    match asked {
        None => Ok(SERVICE_SCOPES
            .iter()
            .filter(|s| allowed(s))
            .map(|s| (*s).to_owned())
            .collect()),
        Some(asked) => {
            let mut scope: Vec<String> = Vec::new();
            for s in asked.split(' ').filter(|s| !s.is_empty()) {
                if !allowed(s) {
                    return Err(OAuthError::invalid_scope(&format!(
                        "`{s}` is not a scope this client's own tokens can carry"
                    )));
                }
                if !scope.iter().any(|have| have == s) {
                    scope.push(s.to_owned());
                }
            }
            Ok(scope)
        }
    }
}

impl OidcProvider {
    /// Answers a `client_credentials` request: an access token of the client's service
    /// account, carrying the client's roles, valid while its grant (a session without a
    /// refresh token, ending with the token) is.
    pub(crate) async fn client_credentials(
        &self,
        issuer: &Issuer,
        client: &OAuthClient,
        asked_scope: Option<&str>,
        origin: &Origin,
    ) -> Result<TokenResponse, OAuthError> {
        if client.kind != ClientKind::Confidential || !client.allows(GrantType::ClientCredentials) {
            return Err(OAuthError::unauthorized_client(
                "this client may not use client_credentials",
            ));
        }
        let scope = service_scope(client, asked_scope)?;
        let account = self.service_account(client, origin).await?;
        let session_id = SessionId::new();
        let joined = scope.join(" ");
        let access = self.ports.tokens.issue(&TokenRequest {
            user: account.id,
            tenant: account.tenant_id,
            session: session_id,
            roles: account.roles.clone(),
            client_id: Some(client.id),
            scope: Some(joined.clone()),
        })?;
        let now = self.now();
        let ends = chrono::SubsecRound::trunc_subsecs(access.expires_at, 6);
        let session = Session {
            id: session_id,
            tenant_id: account.tenant_id,
            user_id: account.id,
            created_at: now,
            last_seen_at: now,
            idle_expires_at: ends,
            absolute_expires_at: ends,
            revoked_at: None,
            revoked_reason: None,
            ip: origin.ip.clone(),
            user_agent: origin.user_agent.clone(),
        };
        // A client's own grant is its own sign-in: nothing but revocation or its token's
        // expiry ends it.
        let grant = OAuthGrant {
            session_id,
            tenant_id: account.tenant_id,
            client_id: client.id,
            user_id: account.id,
            browser_session: session_id,
            scope,
            auth_time: now,
            amr: Vec::new(),
            issuer: issuer.url.clone(),
            created_at: now,
        };
        let entry = AuditEntry::system(account.tenant_id, audit::OAUTH_TOKEN_ISSUED, now)
            .from(Actor::in_session(account.id, session_id), origin)
            .on(ResourceRef::one("oauth_client", client.id))
            .details(json!({ "grant_type": "client_credentials", "scope": joined }));
        self.ports
            .grants
            .open_grant(&session, &grant, &entry)
            .await
            .map_err(|e| match e {
                CoreError::Unauthenticated(_) => {
                    OAuthError::invalid_client("the tenant or the service account is not active")
                }
                other => other.into(),
            })?;
        let expires_in = u64::try_from((access.expires_at - now).num_seconds()).unwrap_or(0);
        Ok(TokenResponse {
            access_token: access.token,
            expires_in,
            refresh_token: None,
            id_token: None,
            scope: joined,
        })
    }

    /// The client's service account, made on its first token request, holding the client's
    /// roles (set again here should they differ: the users API cannot change them, a client
    /// update writes them in its own transaction). A disabled one
    /// refuses the client: administrators stop a service account as they stop anyone.
    async fn service_account(
        &self,
        client: &OAuthClient,
        origin: &Origin,
    ) -> Result<User, OAuthError> {
        let (tenant, id) = (client.tenant_id, UserId::from_uuid(client.id.as_uuid()));
        let account = match self.ports.users.get(tenant, id).await? {
            Some(account) => account,
            None => self.open_service_account(client, origin).await?,
        };
        if account.status != UserStatus::Active {
            return Err(OAuthError::invalid_client(
                "this client's service account is disabled",
            ));
        }
        if account.roles == client.roles {
            return Ok(account);
        }
        let now = self.now();
        let changed = User {
            roles: client.roles.clone(),
            updated_at: now,
            ..account.clone()
        };
        let entry = AuditEntry::system(tenant, audit::USER_UPDATED, now)
            .on(ResourceRef::one("user", id))
            .details(json!({ "roles": changed.roles, "reason": "service account of its client" }));
        // Only an account that was an owner (made before clients could not be) can be the
        // tenant's last one.
        let was_owner = account.roles.iter().any(|r| r == "owner");
        let outcome = self
            .ports
            .users
            .update(&changed, account.updated_at, was_owner, &entry)
            .await?;
        self.ports.profiles.invalidate(&id).await?;
        match outcome {
            usvc_core::ports::UpdateOutcome::Updated => Ok(changed),
            usvc_core::ports::UpdateOutcome::Stale => Err(OAuthError::invalid_grant(
                "the service account changed meanwhile: ask again",
            )),
            usvc_core::ports::UpdateOutcome::LastOwner => Err(OAuthError::invalid_client(
                "the service account is the tenant's last owner: give the tenant another first",
            )),
        }
    }

    async fn open_service_account(
        &self,
        client: &OAuthClient,
        origin: &Origin,
    ) -> Result<User, OAuthError> {
        let now = self.now();
        let id = UserId::from_uuid(client.id.as_uuid());
        let mut account = User::new(
            client.tenant_id,
            Email::service_account(client.id),
            client.roles.clone(),
            now,
        );
        account.id = id;
        account.display_name = Some(format!("{} (service account)", client.name));
        let entry = AuditEntry::system(client.tenant_id, audit::SERVICE_ACCOUNT_CREATED, now)
            .from(Actor::System, origin)
            .on(ResourceRef::one("user", id))
            .details(json!({ "client_id": client.id, "roles": account.roles }));
        match self.ports.users.create(&account, None, &entry).await {
            Ok(()) => Ok(account),
            // A concurrent first request made it.
            Err(CoreError::Conflict(_)) => self
                .ports
                .users
                .get(client.tenant_id, id)
                .await?
                .ok_or_else(|| OAuthError::invalid_client("the service account is gone")),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(scopes: &[&str]) -> OAuthClient {
        let now = chrono::Utc::now();
        OAuthClient {
            id: usvc_core::ClientId::new(),
            tenant_id: usvc_core::TenantId::new(),
            name: "reports".into(),
            kind: ClientKind::Confidential,
            auth_method: usvc_core::ClientAuthMethod::ClientSecretBasic,
            secret_hash: None,
            jwks: None,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: vec![GrantType::ClientCredentials],
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            roles: vec!["viewer".into()],
            trusted: false,
            id_token_alg: usvc_core::IdTokenAlg::RS256,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_clients_own_token_carries_api_at_most() {
        assert_eq!(
            service_scope(&client(&["api", "openid"]), None).unwrap(),
            ["api"]
        );
        assert!(service_scope(&client(&["openid"]), None)
            .unwrap()
            .is_empty());
        assert_eq!(
            service_scope(&client(&["api"]), Some("api api")).unwrap(),
            ["api"]
        );
        for refused in ["openid", "email", "api profile"] {
            let e = service_scope(
                &client(&["api", "openid", "email", "profile"]),
                Some(refused),
            )
            .unwrap_err();
            assert_eq!(e.error, "invalid_scope", "{refused}");
        }
        assert_eq!(
            service_scope(&client(&["openid"]), Some("api"))
                .unwrap_err()
                .error,
            "invalid_scope"
        );
    }
}
