use async_trait::async_trait;

use crate::{Action, CoreError, Decision, Principal, ResourceRef};

/// The one place that answers "may this caller do this?". Domains ask it before every use case
/// that reads or changes someone else's data; the built-in implementation maps the tenant roles
/// (`owner`, `admin`, `member`, `viewer`) to actions, and custom roles plug in behind the same
/// port without touching the domains.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Authorizer: Send + Sync {
    /// Whether `principal` may do `action` to `resource`, and why. The principal is always
    /// inside its own tenant: resources of other tenants are not found before this is asked.
    async fn check(
        &self,
        principal: &Principal,
        action: &Action,
        resource: &ResourceRef,
    ) -> Result<Decision, CoreError>;

    /// [`Authorizer::check`] as a guard: `Ok(())` if allowed, `Forbidden` with the reason
    /// otherwise.
    async fn authorize(
        &self,
        principal: &Principal,
        action: &Action,
        resource: &ResourceRef,
    ) -> Result<(), CoreError> {
        let decision = self.check(principal, action, resource).await?;
        if decision.allowed {
            Ok(())
        } else {
            Err(CoreError::Forbidden(decision.reason))
        }
    }
}
