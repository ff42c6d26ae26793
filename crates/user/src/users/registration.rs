//! Self-registration: a visitor creates their own account where the tenant allows it.

use serde_json::json;
use usvc_core::ports::HashLane;
use usvc_core::{
    Actor, AuditEntry, CoreError, Email, Origin, Password, ResourceRef, Slug, TenantStatus, User,
};

use super::changes::{self, ProfileChanges};
use super::UserService;
use crate::audit::actions as audit;
use crate::events::{self, emit};
use crate::password_policy;

/// What a visitor sends to register.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Tenant slug.
    pub tenant: String,
    /// Login email.
    pub email: String,
    /// Password (policy-checked).
    pub password: Password,
    /// Optional profile fields.
    pub profile: ProfileChanges,
}

impl UserService {
    /// Registers a `member` in a tenant with self-registration on. The answer is the same
    /// whether or not the email was free, so registration cannot be used to find accounts;
    /// the new user is returned only for the caller's own logging and tests (`None` when the
    /// address was taken). A closed or unknown tenant is `Forbidden` alike.
    pub async fn register(
        &self,
        registration: Registration,
        origin: &Origin,
    ) -> Result<Option<User>, CoreError> {
        let closed =
            || CoreError::Forbidden("self-registration is not open for this tenant".into());
        let slug = Slug::parse(&registration.tenant).map_err(|_| closed())?;
        let tenant = match self.ports.tenants.get_by_slug(&slug).await? {
            Some(t) if t.status == TenantStatus::Active && t.settings.self_registration => t,
            _ => return Err(closed()),
        };
        let mut errors = Vec::new();
        let email = Email::parse(&registration.email)
            .map_err(|_| CoreError::invalid("email", "is not a valid email address"))?;
        if let Err(CoreError::Validation(mut f)) =
            password_policy::check(&registration.password, &email, "password")
        {
            errors.append(&mut f);
        }
        let now = self.ports.clock.now();
        let mut user = User::new(tenant.id, email, vec!["member".into()], now);
        registration.profile.apply(&mut user, &mut errors);
        changes::verdict(errors)?;
        let hash = self
            .ports
            .hasher
            .hash(HashLane::Tenant(tenant.id), &registration.password)
            .await?;
        let actor = Actor::sessionless(user.id);
        let entry = AuditEntry::system(tenant.id, audit::USER_REGISTERED, now)
            .from(actor, origin)
            .on(ResourceRef::one("user", user.id));
        match self.ports.users.create(&user, Some(hash), &entry).await {
            Ok(()) => {}
            Err(CoreError::Conflict(_)) => return Ok(None),
            Err(e) => return Err(e),
        }
        let payload = json!({ "user_id": user.id, "roles": user.roles, "source": "registration" });
        emit(
            &self.ports.events,
            tenant.id,
            events::USER_CREATED,
            now,
            Some(user.id),
            payload,
        )
        .await;
        Ok(Some(user))
    }
}
