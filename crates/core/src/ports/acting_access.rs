use async_trait::async_trait;

use crate::ports::Acting;
use crate::{Action, CoreError, ResourceRef};

/// What the person a workflow acts as (its saver, for triggered runs) may read now: an event
/// starts a workflow only when its saver could read what the event describes, so automation
/// sees no more than the person who set it up.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ActingAccess: Send + Sync {
    /// Whether `actor`, with their roles now, may do `action` to `resource` (asked, not
    /// audited). A disabled or erased person, or one of a disabled tenant, may do nothing.
    async fn allows(
        &self,
        actor: Acting,
        action: Action,
        resource: ResourceRef,
    ) -> Result<bool, CoreError>;
}
