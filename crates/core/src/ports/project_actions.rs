use async_trait::async_trait;

use crate::{CoreError, ProjectFields, ProjectId, TenantId, UserId};

/// The person a workflow step acts as: the one who started the execution or, for triggered
/// executions, the one who saved the workflow version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Acting {
    /// Their tenant.
    pub tenant: TenantId,
    /// The user; their current roles decide what the step may do.
    pub user: UserId,
}

/// What workflow steps (`project.create`, `project.update`) do to projects: the project
/// domain's use cases, authorised and audited as the acting person, so a workflow can do no
/// more than its person could through the API. Fields are the one input shape of a project
/// ([`ProjectFields`], as the API reads them); answers are the API's JSON of the project.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ProjectActions: Send + Sync {
    /// Creates a project from `fields`, once per `key`: a repeat (a retried step) answers the project the first
    /// made. The project.
    async fn create(
        &self,
        actor: Acting,
        fields: ProjectFields,
        key: String,
    ) -> Result<serde_json::Value, CoreError>;

    /// Changes the fields `fields` names of a project (the others stay). The project.
    async fn update(
        &self,
        actor: Acting,
        project: ProjectId,
        fields: ProjectFields,
    ) -> Result<serde_json::Value, CoreError>;
}
