//! The client registry: a tenant's administrators (`clients:manage`) register the
//! applications that sign its users in. A secret is shown once, when made, and kept only as
//! its hash.

use std::sync::Arc;

use usvc_core::ports::{
    Authorizer, Cache, Clock, OAuthClientRepository, OpaqueTokens, RoleRepository,
};
use usvc_core::{
    permissions, AuditEntry, ClientAuthMethod, ClientId, CoreError, OAuthClient, Principal,
    ResourceRef, User, UserId,
};

use crate::audit::actions as audit;
use crate::grants;
use crate::oauth::client_rules::{check, CheckedClient, ClientInput};

/// A client as saved, with its secret when one was made by this call (shown only now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedClient {
    /// The client.
    pub client: OAuthClient,
    /// The new secret, if this call made one.
    pub secret: Option<String>,
}

/// Registering, changing and removing a tenant's OAuth clients.
pub struct ClientService {
    clients: Arc<dyn OAuthClientRepository>,
    roles: Arc<dyn RoleRepository>,
    authorizer: Arc<dyn Authorizer>,
    opaque: Arc<dyn OpaqueTokens>,
    clock: Arc<dyn Clock>,
    profiles: Arc<dyn Cache<UserId, User>>,
}

/// What a change to a trusted `api` client is refused as.
const ACTS_AS_ANYONE: &str =
    "manage a trusted client with the `api` scope (it acts as any user who signs in)";

fn uses_secret(method: ClientAuthMethod) -> bool {
    matches!(
        method,
        ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost
    )
}

impl ClientService {
    /// A service over the client store; roles are read to check what a client's tokens would
    /// grant, and secrets are made by `opaque`. A change to a client changes its service
    /// account (docs/oidc.md), whose cached profile `profiles` drops.
    pub fn new(
        clients: Arc<dyn OAuthClientRepository>,
        roles: Arc<dyn RoleRepository>,
        authorizer: Arc<dyn Authorizer>,
        opaque: Arc<dyn OpaqueTokens>,
        (clock, profiles): (Arc<dyn Clock>, Arc<dyn Cache<UserId, User>>),
    ) -> Self {
        Self {
            clients,
            roles,
            authorizer,
            opaque,
            clock,
            profiles,
        }
    }

    /// The client's service account (if it has one) changed with it: every replica reads it
    /// again, so new roles, or a disabled account, hold from the next request.
    async fn service_account_changed(&self, id: ClientId) -> Result<(), CoreError> {
        self.profiles
            .invalidate(&UserId::from_uuid(id.as_uuid()))
            .await
    }

    async fn allow(&self, principal: &Principal) -> Result<(), CoreError> {
        self.authorizer
            .authorize(
                principal,
                &permissions::CLIENTS_MANAGE,
                &ResourceRef::any("oauth_client"),
            )
            .await
    }

    /// Nobody gives a client roles they do not hold themselves; unknown role names are a
    /// validation error.
    async fn may_grant(
        &self,
        principal: &Principal,
        checked: &CheckedClient,
    ) -> Result<(), CoreError> {
        if checked.roles.is_empty() {
            return Ok(());
        }
        let custom = self.roles.list(principal.tenant).await?;
        let unknown: Vec<_> = checked
            .roles
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                !usvc_core::BUILT_IN_ROLES.contains(&r.as_str())
                    && !custom.iter().any(|c| &c.name == *r)
            })
            .map(|(i, r)| usvc_core::FieldError {
                field: format!("roles[{i}]"),
                message: format!("`{r}` is no role of this tenant"),
            })
            .collect();
        if !unknown.is_empty() {
            return Err(CoreError::Validation(unknown));
        }
        let granted = grants::actions_of_all(&checked.roles, &custom);
        grants::ensure_holds(
            self.authorizer.as_ref(),
            principal,
            &granted,
            "give a client these roles",
        )
        .await
    }

    /// A trusted client (no consent page) with the `api` scope gets an API token for any
    /// user who is signed in at the provider and follows a link, silently (`prompt=none`):
    /// whoever defines it, holds its secret or removes it could act as anyone, owners
    /// included. Only a caller who holds every tenant action may.
    async fn may_act_as_anyone(
        &self,
        principal: &Principal,
        scopes: &[String],
        trusted: bool,
        doing: &str,
    ) -> Result<(), CoreError> {
        if !trusted || !scopes.iter().any(|s| s == "api") {
            return Ok(());
        }
        let everything: Vec<_> = permissions::ALL
            .iter()
            .filter(|a| !permissions::PLATFORM.contains(a))
            .cloned()
            .collect();
        grants::ensure_holds(self.authorizer.as_ref(), principal, &everything, doing).await
    }

    /// The tenant's clients (`clients:manage`).
    pub async fn list(&self, principal: &Principal) -> Result<Vec<OAuthClient>, CoreError> {
        self.allow(principal).await?;
        self.clients.list(principal.tenant).await
    }

    /// One client of the tenant (`clients:manage`); another tenant's is `NotFound`.
    pub async fn get(&self, principal: &Principal, id: ClientId) -> Result<OAuthClient, CoreError> {
        self.allow(principal).await?;
        self.own(principal, id).await
    }

    async fn own(&self, principal: &Principal, id: ClientId) -> Result<OAuthClient, CoreError> {
        self.clients
            .get(id)
            .await?
            .filter(|c| c.tenant_id == principal.tenant)
            .ok_or_else(|| CoreError::NotFound("client".into()))
    }

    /// Registers a client (`clients:manage`, and holding what its roles grant). A client that
    /// authenticates with a secret gets one, returned only here.
    pub async fn create(
        &self,
        principal: &Principal,
        input: ClientInput,
    ) -> Result<SavedClient, CoreError> {
        self.allow(principal).await?;
        let checked = check(&input)?;
        self.may_grant(principal, &checked).await?;
        self.may_act_as_anyone(principal, &checked.scopes, input.trusted, ACTS_AS_ANYONE)
            .await?;
        let secret = if uses_secret(checked.auth_method) {
            Some(self.opaque.generate()?)
        } else {
            None
        };
        let now = chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6);
        let client = OAuthClient {
            id: ClientId::new(),
            tenant_id: principal.tenant,
            name: checked.name,
            kind: input.kind,
            auth_method: checked.auth_method,
            secret_hash: secret.as_ref().map(|s| s.hash.clone()),
            jwks: checked.jwks,
            redirect_uris: checked.redirect_uris,
            post_logout_redirect_uris: checked.post_logout_redirect_uris,
            grant_types: checked.grant_types,
            scopes: checked.scopes,
            roles: checked.roles,
            trusted: input.trusted,
            id_token_alg: input.id_token_alg,
            created_at: now,
            updated_at: now,
        };
        let entry = AuditEntry::by(principal, audit::CLIENT_CREATED, now)
            .on(ResourceRef::one("oauth_client", client.id))
            .details(definition(&client));
        self.clients.create(&client, &entry).await?;
        Ok(SavedClient {
            client,
            secret: secret.map(|s| s.token),
        })
    }

    /// Replaces a client's definition (`clients:manage`, holding what its roles grant before
    /// and after). Its kind is fixed; moving to a secret method makes a secret (returned).
    pub async fn update(
        &self,
        principal: &Principal,
        id: ClientId,
        input: ClientInput,
    ) -> Result<SavedClient, CoreError> {
        self.allow(principal).await?;
        let current = self.own(principal, id).await?;
        if input.kind != current.kind {
            return Err(CoreError::invalid(
                "kind",
                "a client's kind cannot change; register a new client",
            ));
        }
        let checked = check(&input)?;
        let mut touched = checked.clone();
        touched.roles.extend(current.roles.iter().cloned());
        self.may_grant(principal, &touched).await?;
        self.may_act_as_anyone(principal, &checked.scopes, input.trusted, ACTS_AS_ANYONE)
            .await?;
        self.may_act_as_anyone(principal, &current.scopes, current.trusted, ACTS_AS_ANYONE)
            .await?;
        let (secret_hash, secret) = match (uses_secret(checked.auth_method), current.secret_hash) {
            (true, Some(hash)) => (Some(hash), None),
            (true, None) => {
                let made = self.opaque.generate()?;
                (Some(made.hash), Some(made.token))
            }
            (false, _) => (None, None),
        };
        let client = OAuthClient {
            name: checked.name,
            auth_method: checked.auth_method,
            secret_hash,
            jwks: checked.jwks,
            redirect_uris: checked.redirect_uris,
            post_logout_redirect_uris: checked.post_logout_redirect_uris,
            grant_types: checked.grant_types,
            scopes: checked.scopes,
            roles: checked.roles,
            trusted: input.trusted,
            id_token_alg: input.id_token_alg,
            updated_at: chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6),
            ..current
        };
        let entry = AuditEntry::by(principal, audit::CLIENT_UPDATED, client.updated_at)
            .on(ResourceRef::one("oauth_client", client.id))
            .details(definition(&client));
        self.clients.update(&client, &entry).await?;
        self.service_account_changed(client.id).await?;
        Ok(SavedClient { client, secret })
    }

    /// Makes a new secret (`clients:manage`); the old one stops working at once.
    pub async fn rotate_secret(
        &self,
        principal: &Principal,
        id: ClientId,
    ) -> Result<SavedClient, CoreError> {
        self.allow(principal).await?;
        let current = self.own(principal, id).await?;
        self.may_act_as_anyone(principal, &current.scopes, current.trusted, ACTS_AS_ANYONE)
            .await?;
        if !uses_secret(current.auth_method) {
            return Err(CoreError::Conflict(format!(
                "this client authenticates with `{}`, not a secret",
                current.auth_method.as_str()
            )));
        }
        let made = self.opaque.generate()?;
        let client = OAuthClient {
            secret_hash: Some(made.hash),
            updated_at: chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6),
            ..current
        };
        let entry = AuditEntry::by(principal, audit::CLIENT_SECRET_ROTATED, client.updated_at)
            .on(ResourceRef::one("oauth_client", client.id));
        self.clients.update(&client, &entry).await?;
        Ok(SavedClient {
            client,
            secret: Some(made.token),
        })
    }

    /// Removes a client (`clients:manage`, holding what its roles grant): its codes and
    /// tokens stop being accepted.
    pub async fn delete(&self, principal: &Principal, id: ClientId) -> Result<(), CoreError> {
        self.allow(principal).await?;
        let current = self.own(principal, id).await?;
        let custom = self.roles.list(principal.tenant).await?;
        grants::ensure_holds(
            self.authorizer.as_ref(),
            principal,
            &grants::actions_of_all(&current.roles, &custom),
            "remove a client with these roles",
        )
        .await?;
        self.may_act_as_anyone(principal, &current.scopes, current.trusted, ACTS_AS_ANYONE)
            .await?;
        let entry = AuditEntry::by(principal, audit::CLIENT_DELETED, self.clock.now())
            .on(ResourceRef::one("oauth_client", id));
        self.clients.delete(principal.tenant, id, &entry).await?;
        self.service_account_changed(id).await
    }
}

/// What an auditor needs to know about a client's definition (never its secret).
fn definition(client: &OAuthClient) -> serde_json::Value {
    serde_json::json!({
        "name": client.name,
        "kind": client.kind,
        "auth_method": client.auth_method,
        "redirect_uris": client.redirect_uris,
        "grant_types": client.grant_types,
        "scopes": client.scopes,
        "roles": client.roles,
        "trusted": client.trusted,
        "id_token_alg": client.id_token_alg,
    })
}
