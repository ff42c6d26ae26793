use async_trait::async_trait;

use crate::{Action, CoreError, Principal, ResourceRef};

/// The one place that answers "may this caller do this?". Domains ask it before every use case
/// that reads or changes someone else's data; the built-in implementation maps the tenant roles
/// (`owner`, `admin`, `member`, `viewer`) to actions, and custom roles plug in behind the same
/// port without touching the domains.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Authorizer: Send + Sync {
    /// `Ok(())` if allowed, `Forbidden` otherwise. The principal is always inside its own
    /// tenant: resources of other tenants are not found before this is asked.
    async fn authorize(
        &self,
        principal: &Principal,
        action: &Action,
        resource: &ResourceRef,
    ) -> Result<(), CoreError>;
}
