//! What an event-triggered execution is about, and so who may see it and whose automation it
//! may start.
//!
//! An execution started by an event carries the event's payload in `inputs.event` — a
//! private project's name and description, for `project.created`. Whoever reads the
//! execution (its inputs, the outputs its steps derived, its timeline) reads that payload, so
//! reading it takes reading what the payload describes: the project (or, once it is gone,
//! the audit trail, which keeps the same details), or the users directory for `user.*`
//! events. And a private project's events start only the workflows of people who may read
//! the project: automation stays outside a private project like everyone else.

use std::collections::HashMap;

use serde_json::Value;
use usvc_core::ports::{Acting, ActingAccess, Authorizer};
use usvc_core::{permissions, Action, CoreError, Execution, Principal, ProjectId, ResourceRef};

/// What an event is about, when reading its payload takes a permission `workflows:read`
/// does not give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A project: reading its events takes reading the project.
    Project(ProjectId),
    /// A user: reading its events takes `users:read`.
    User,
}

/// The subject of an event of type `kind` with `payload`.
pub fn of_event(kind: &str, payload: &Value) -> Option<Subject> {
    let (resource, _) = kind.split_once('.')?;
    match resource {
        "project" => payload
            .get("project_id")
            .and_then(Value::as_str)
            .and_then(|id| id.parse().ok())
            .map(Subject::Project),
        // Sessions, sign-ins, MFA and refusals are about a user (and carry their ids).
        "user" | "session" | "auth" | "mfa" | "authz" => Some(Subject::User),
        _ => None,
    }
}

/// The project a step of `kind` created or changed, from its `output` (the project), if it
/// is a `project.*` step.
pub fn project_of(kind: &str, output: &Value) -> Option<ProjectId> {
    if !kind.starts_with("project.") {
        return None;
    }
    output.get("id")?.as_str()?.parse().ok()
}

/// The subject of an execution: that of the event which started it (manual and scheduled
/// executions have none; their inputs are their starter's).
pub fn of_execution(execution: &Execution) -> Option<Subject> {
    if execution.trigger != "event" {
        return None;
    }
    let event = execution.inputs.get("event")?;
    of_event(
        event.get("type").and_then(Value::as_str)?,
        event.get("payload").unwrap_or(&Value::Null),
    )
}

impl Subject {
    /// What reading an event about this subject takes: the project, or the users directory.
    fn read(self) -> (Action, ResourceRef) {
        match self {
            Self::User => (permissions::USERS_READ, ResourceRef::any("user")),
            Self::Project(id) => (permissions::PROJECTS_READ, ResourceRef::one("project", id)),
        }
    }
}

/// What the savers of event-triggered workflows may read, asked once per saver and question
/// in one pass of the trigger loop (a batch of events meets the same few savers).
pub struct SaverAccess<'a> {
    access: &'a dyn ActingAccess,
    known: HashMap<(Acting, Action, String), bool>,
}

impl<'a> SaverAccess<'a> {
    /// Answers through `access`.
    pub fn new(access: &'a dyn ActingAccess) -> Self {
        Self {
            access,
            known: HashMap::new(),
        }
    }

    async fn allows(
        &mut self,
        saver: Acting,
        action: Action,
        resource: ResourceRef,
    ) -> Result<bool, CoreError> {
        let key = (
            saver,
            action.clone(),
            format!(
                "{}:{}",
                resource.kind,
                resource.id.as_deref().unwrap_or("*")
            ),
        );
        if let Some(known) = self.known.get(&key) {
            return Ok(*known);
        }
        let allowed = self.access.allows(saver, action, resource).await?;
        self.known.insert(key, allowed);
        Ok(allowed)
    }

    /// Whether an event of type `kind` with `payload` may start a workflow saved by
    /// `saver`, with their roles now: they must still hold `audit:read` (what saving an
    /// event trigger took: triggers see every event of the tenant) and may read what the
    /// event describes (a project, the users). A project's deletion carries only its id.
    pub async fn may_start(
        &mut self,
        saver: Acting,
        kind: &str,
        payload: &Value,
    ) -> Result<bool, CoreError> {
        if !self
            .allows(saver, permissions::AUDIT_READ, ResourceRef::any("audit"))
            .await?
        {
            return Ok(false);
        }
        match of_event(kind, payload) {
            None => Ok(true),
            Some(Subject::Project(_)) if kind == "project.deleted" => Ok(true),
            Some(subject) => {
                let (action, resource) = subject.read();
                self.allows(saver, action, resource).await
            }
        }
    }
}

/// Whether `principal` may read `execution`'s inputs and outputs, and so everything derived
/// from them (its steps, its timeline, its human tasks). Those of an event-triggered one
/// describe the event's subject, and a `project.*` step's output is the project it created or
/// changed: reading the run takes reading each of them — the users, or the project. A
/// project that is gone is readable through the audit trail, which keeps the same details;
/// while it exists, only those who may read it (its members, if it is private) see the run.
pub async fn may_see(
    authorizer: &dyn Authorizer,
    principal: &Principal,
    execution: &Execution,
) -> Result<bool, CoreError> {
    Ok(refused(authorizer, principal, execution).await?.is_none())
}

/// What reading `execution` takes that `principal` may not do (the first found), if any.
async fn refused(
    authorizer: &dyn Authorizer,
    principal: &Principal,
    execution: &Execution,
) -> Result<Option<(Action, ResourceRef)>, CoreError> {
    let mut projects = Vec::with_capacity(execution.projects.len() + 1);
    match of_execution(execution) {
        None => {}
        Some(Subject::Project(id)) => projects.push(id),
        Some(subject) => {
            let (action, resource) = subject.read();
            if !authorizer
                .check(principal, &action, &resource)
                .await?
                .allowed
            {
                return Ok(Some((action, resource)));
            }
        }
    }
    for id in &execution.projects {
        if !projects.contains(id) {
            projects.push(*id);
        }
    }
    for id in projects {
        if !may_read_project(authorizer, principal, id).await? {
            return Ok(Some((
                permissions::PROJECTS_READ,
                ResourceRef::one("project", id),
            )));
        }
    }
    Ok(None)
}

/// Whether `principal` may read what is known of the project `id`: the project itself
/// (its members only, if it is private) or, once it is gone, the audit trail, which keeps
/// the same details (asked, not audited).
pub async fn may_read_project(
    authorizer: &dyn Authorizer,
    principal: &Principal,
    id: ProjectId,
) -> Result<bool, CoreError> {
    let decision = authorizer
        .check(
            principal,
            &permissions::PROJECTS_READ,
            &ResourceRef::one("project", id),
        )
        .await?;
    if decision.allowed {
        return Ok(true);
    }
    Ok(decision.reason == permissions::NO_SUCH_PROJECT
        && authorizer
            .check(
                principal,
                &permissions::AUDIT_READ,
                &ResourceRef::any("audit"),
            )
            .await?
            .allowed)
}

/// [`may_see`] for one execution (or its task) asked for by id: a refusal is recorded on
/// the audit trail, as the authorizer's guard records any other (`authz.denied`), though the
/// caller is answered as if it did not exist. Listings leave such executions out silently.
pub async fn may_open(
    authorizer: &dyn Authorizer,
    principal: &Principal,
    execution: &Execution,
) -> Result<bool, CoreError> {
    let Some((action, resource)) = refused(authorizer, principal, execution).await? else {
        return Ok(true);
    };
    match authorizer.authorize(principal, &action, &resource).await {
        Ok(()) | Err(CoreError::Forbidden(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_about_projects_and_users_have_subjects_others_do_not() {
        let id = ProjectId::new();
        assert_eq!(
            of_event("project.created", &json!({"project_id": id.to_string()})),
            Some(Subject::Project(id))
        );
        for kind in [
            "user.created",
            "session.revoked",
            "auth.locked_out",
            "mfa.enabled",
            "authz.denied",
        ] {
            assert_eq!(of_event(kind, &json!({})), Some(Subject::User), "{kind}");
        }
        assert_eq!(
            of_event("order.shipped", &json!({"project_id": id.to_string()})),
            None
        );
        assert_eq!(
            of_event("project.created", &json!({"project_id": "nope"})),
            None
        );
    }

    fn event_execution(kind: &str, payload: &Value) -> Execution {
        let now = chrono::Utc::now();
        Execution {
            id: usvc_core::ExecutionId::new(),
            tenant_id: usvc_core::TenantId::new(),
            workflow_id: usvc_core::WorkflowId::new(),
            version: 1,
            status: usvc_core::ExecutionStatus::Running,
            inputs: json!({"event": {"type": kind, "payload": payload}}),
            output: None,
            error: None,
            trigger: "event".into(),
            started_by: None,
            created_at: now,
            started_at: None,
            finished_at: None,
            deadline: None,
            concurrency_key: None,
            concurrency_limit: None,
            queued: false,
            projects: Vec::new(),
        }
    }

    fn reader() -> Principal {
        Principal {
            user: usvc_core::UserId::new(),
            tenant: usvc_core::TenantId::new(),
            session: usvc_core::SessionId::new(),
            roles: vec!["member".into()],
            origin: usvc_core::Origin::default(),
        }
    }

    #[tokio::test]
    async fn a_saver_who_may_not_read_the_users_starts_nothing_on_their_events() {
        let saver = Acting {
            tenant: usvc_core::TenantId::new(),
            user: usvc_core::UserId::new(),
        };
        let mut access = usvc_core::ports::MockActingAccess::new();
        access
            .expect_allows()
            .withf(|_, action, _| *action == permissions::AUDIT_READ)
            .times(1)
            .returning(|_, _, _| Ok(true));
        access
            .expect_allows()
            .withf(|_, action, resource| {
                *action == permissions::USERS_READ && resource.kind == "user"
            })
            .times(1)
            .returning(|_, _, _| Ok(false));
        let mut savers = SaverAccess::new(&access);
        for kind in ["user.created", "session.revoked"] {
            assert!(
                !savers
                    .may_start(saver, kind, &json!({"user_id": "x"}))
                    .await
                    .unwrap(),
                "{kind}: asked once, remembered"
            );
        }
        // Events about nothing readable, and a project's deletion, need only audit:read.
        for kind in ["order.shipped", "project.deleted"] {
            let payload = json!({"project_id": ProjectId::new().to_string()});
            assert!(savers.may_start(saver, kind, &payload).await.unwrap());
        }
    }

    #[tokio::test]
    async fn a_saver_who_lost_audit_read_starts_nothing() {
        let saver = Acting {
            tenant: usvc_core::TenantId::new(),
            user: usvc_core::UserId::new(),
        };
        let mut access = usvc_core::ports::MockActingAccess::new();
        access
            .expect_allows()
            .withf(|_, action, _| *action == permissions::AUDIT_READ)
            .returning(|_, _, _| Ok(false));
        let mut savers = SaverAccess::new(&access);
        assert!(!savers
            .may_start(saver, "order.shipped", &json!({}))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn opening_a_hidden_execution_records_the_refusal() {
        let mut authorizer = usvc_core::ports::MockAuthorizer::new();
        authorizer
            .expect_check()
            .returning(|_, _, _| Ok(usvc_core::Decision::deny("you do not hold users:read")));
        authorizer
            .expect_authorize()
            .withf(|_, action, resource| {
                *action == permissions::USERS_READ && resource.kind == "user"
            })
            .times(1)
            .returning(|_, _, _| Err(CoreError::Forbidden("no".into())));
        let execution = event_execution("user.created", &json!({}));
        assert!(!may_open(&authorizer, &reader(), &execution).await.unwrap());
    }

    #[tokio::test]
    async fn listing_leaves_hidden_executions_out_without_a_record() {
        let mut authorizer = usvc_core::ports::MockAuthorizer::new();
        authorizer
            .expect_check()
            .returning(|_, _, _| Ok(usvc_core::Decision::deny("no")));
        authorizer.expect_authorize().never();
        let execution = event_execution("session.revoked", &json!({}));
        assert!(!may_see(&authorizer, &reader(), &execution).await.unwrap());
    }
}
