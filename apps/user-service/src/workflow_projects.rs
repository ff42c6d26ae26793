//! `ProjectActions` for workflow steps (`project.create`, `project.update`): the project
//! use cases run as the acting person — loaded with their current roles, refused when
//! disabled or gone — so a workflow can do nothing its person could not through the API.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use usvc_core::ports::{Acting, ProjectActions, TenantRepository, UserRepository};
use usvc_core::{
    CoreError, IdempotencyKey, Origin, Principal, ProjectId, SessionId, TenantStatus, UserStatus,
    Visibility,
};
use usvc_project::{ProjectFields, ProjectService};

use crate::http::projects::ProjectView;

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
    users: Arc<dyn UserRepository>,
    tenants: Arc<dyn TenantRepository>,
}

impl WorkflowProjects {
    /// Over the project use cases, the user directory (the acting person's roles) and the
    /// tenants (a disabled tenant's workflows change nothing).
    pub fn new(
        projects: Arc<ProjectService>,
        users: Arc<dyn UserRepository>,
        tenants: Arc<dyn TenantRepository>,
    ) -> Self {
        Self {
            projects,
            users,
            tenants,
        }
    }

    /// The acting person as a caller: their roles now, no session (the audit trail shows
    /// them acting through a session id of its own, as for other sessionless actions).
    async fn principal(&self, actor: Acting) -> Result<Principal, CoreError> {
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

fn view(project: usvc_core::Project) -> serde_json::Value {
    serde_json::to_value(ProjectView::from(project)).unwrap_or(serde_json::Value::Null)
}

#[async_trait]
impl ProjectActions for WorkflowProjects {
    async fn create(
        &self,
        actor: Acting,
        fields: serde_json::Value,
        key: String,
    ) -> Result<serde_json::Value, CoreError> {
        let principal = self.principal(actor).await?;
        let key = IdempotencyKey::for_request(&key, &fields)?;
        let fields = StepFields::parse(fields)?;
        let (project, _) = self
            .projects
            .create_once(&principal, fields, Some(key))
            .await?;
        Ok(view(project))
    }

    async fn update(
        &self,
        actor: Acting,
        project: ProjectId,
        fields: serde_json::Value,
    ) -> Result<serde_json::Value, CoreError> {
        let principal = self.principal(actor).await?;
        let fields = StepFields::parse(fields)?;
        let project = self
            .projects
            .update(&principal, project, None, fields)
            .await?;
        Ok(view(project))
    }

    async fn may_read(&self, actor: Acting, project: ProjectId) -> Result<bool, CoreError> {
        match self.principal(actor).await {
            Ok(principal) => self.projects.may_read(&principal, project).await,
            // A disabled tenant or person reads nothing.
            Err(CoreError::Forbidden(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
