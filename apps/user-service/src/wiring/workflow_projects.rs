//! `ProjectActions` for workflow steps (`project.create`, `project.update`): the project
//! use cases run as the acting person ([`ActingPeople`]: their current roles, refused when
//! disabled or gone), so a workflow can do nothing its person could not through the API.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use usvc_core::ports::{Acting, ProjectActions};
use usvc_core::{CoreError, IdempotencyKey, ProjectId, Visibility};
use usvc_project::{ProjectFields, ProjectService};

use super::acting::ActingPeople;

/// The project fields a step sets (the API's names; unknown fields refused).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFields {
    name: Option<String>,
    description: Option<String>,
    visibility: Option<String>,
    tags: Option<Vec<String>>,
    settings: Option<serde_json::Value>,
}

impl StepFields {
    fn parse(fields: serde_json::Value) -> Result<ProjectFields, CoreError> {
        let f: Self = serde_json::from_value(fields).map_err(|e| {
            CoreError::invalid("with", format!("is not a set of project fields: {e}"))
        })?;
        Ok(ProjectFields {
            name: f.name,
            description: f.description,
            visibility: f
                .visibility
                .as_deref()
                .map(str::parse::<Visibility>)
                .transpose()?,
            tags: f.tags,
            settings: f.settings,
        })
    }
}

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
        fields: serde_json::Value,
        key: String,
    ) -> Result<serde_json::Value, CoreError> {
        let principal = self.people.principal(actor).await?;
        let key = IdempotencyKey::for_request(&key, &fields)?;
        let fields = StepFields::parse(fields)?;
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
        fields: serde_json::Value,
    ) -> Result<serde_json::Value, CoreError> {
        let principal = self.people.principal(actor).await?;
        let fields = StepFields::parse(fields)?;
        let project = self
            .projects
            .update(&principal, project, None, fields)
            .await?;
        Ok(view(&project))
    }
}
