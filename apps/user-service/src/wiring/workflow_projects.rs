//! `ProjectActions` for workflow steps (`project.create`, `project.update`): the project
//! use cases run as the acting person ([`ActingPeople`]: their current roles, refused when
//! disabled or gone), so a workflow can do nothing its person could not through the API.

use std::sync::Arc;

use async_trait::async_trait;
use usvc_core::ports::{Acting, ProjectActions};
use usvc_core::{CoreError, IdempotencyKey, ProjectFields, ProjectId};
use usvc_project::ProjectService;

use super::acting::ActingPeople;

/// The project domain as workflow steps reach it.
pub struct WorkflowProjects {
    projects: Arc<ProjectService>,
    people: ActingPeople,
}

impl WorkflowProjects {
    /// Over the project use cases, run as the people `people` loads.
    pub fn new(projects: Arc<ProjectService>, people: ActingPeople) -> Self {
        Self { projects, people }
    }
}

/// The project as a step's output: the entity's own serialisation, which is the API's
/// representation too (`http::projects` holds the two to one shape in a test).
fn view(project: &usvc_core::Project) -> serde_json::Value {
    serde_json::to_value(project).unwrap_or(serde_json::Value::Null)
}

#[async_trait]
impl ProjectActions for WorkflowProjects {
    async fn create(
        &self,
        actor: Acting,
        fields: ProjectFields,
        key: String,
    ) -> Result<serde_json::Value, CoreError> {
        let principal = self.people.principal(actor).await?;
        let key = IdempotencyKey::for_request(&key, &fields.fingerprint())?;
        let (project, _) = self
            .projects
            .create_once(&principal, fields, Some(key))
            .await?;
        Ok(view(&project))
    }

    async fn update(
        &self,
        actor: Acting,
        project: ProjectId,
        fields: ProjectFields,
    ) -> Result<serde_json::Value, CoreError> {
        let principal = self.people.principal(actor).await?;
        let project = self
            .projects
            .update(&principal, project, None, fields)
            .await?;
        Ok(view(&project))
    }
}
