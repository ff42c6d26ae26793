//! The person a workflow acts as (its starter, or its saver for triggered runs) as a caller:
//! loaded with their roles now, refused when they or their tenant are disabled or gone. The
//! project steps act through it, and the triggers ask it what a saver may read.

use std::sync::Arc;

use async_trait::async_trait;
use usvc_core::ports::{Acting, ActingAccess, Authorizer, TenantRepository, UserRepository};
use usvc_core::{
    Action, CoreError, Origin, Principal, ResourceRef, SessionId, TenantStatus, UserStatus,
};

/// Where the acting person is looked up.
#[derive(Clone)]
pub struct ActingPeople {
    users: Arc<dyn UserRepository>,
    tenants: Arc<dyn TenantRepository>,
}

impl ActingPeople {
    /// Over the user directory (their roles) and the tenants (a disabled tenant's workflows
    /// do nothing).
    pub fn new(users: Arc<dyn UserRepository>, tenants: Arc<dyn TenantRepository>) -> Self {
        Self { users, tenants }
    }

    /// The acting person as a caller: their roles now, no session (the audit trail shows
    /// them acting through a session id of its own, as for other sessionless actions).
    /// `Forbidden` when they or their tenant are not active.
    pub async fn principal(&self, actor: Acting) -> Result<Principal, CoreError> {
        let tenant = self.tenants.get(actor.tenant).await?;
        if !tenant.is_some_and(|t| t.status == TenantStatus::Active) {
            return Err(CoreError::Forbidden("the tenant is disabled".into()));
        }
        let user = self
            .users
            .get(actor.tenant, actor.user)
            .await?
            .filter(|u| u.status == UserStatus::Active)
            .ok_or_else(|| {
                CoreError::Forbidden(format!(
                    "the person the workflow acts as ({}) is not an active user",
                    actor.user
                ))
            })?;
        Ok(Principal {
            user: user.id,
            tenant: user.tenant_id,
            session: SessionId::new(),
            roles: user.roles,
            origin: Origin::default(),
        })
    }
}

/// [`ActingAccess`] through the authorizer every request asks.
pub struct ActingAuthorizer {
    people: ActingPeople,
    authorizer: Arc<dyn Authorizer>,
}

impl ActingAuthorizer {
    /// Answers with `authorizer` about the people `people` loads.
    pub fn new(people: ActingPeople, authorizer: Arc<dyn Authorizer>) -> Self {
        Self { people, authorizer }
    }
}

#[async_trait]
impl ActingAccess for ActingAuthorizer {
    async fn allows(
        &self,
        actor: Acting,
        action: Action,
        resource: ResourceRef,
    ) -> Result<bool, CoreError> {
        match self.people.principal(actor).await {
            Ok(principal) => Ok(self
                .authorizer
                .check(&principal, &action, &resource)
                .await?
                .allowed),
            // A disabled tenant or person reads nothing.
            Err(CoreError::Forbidden(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
