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

use serde_json::Value;
use usvc_core::ports::Authorizer;
use usvc_core::{permissions, CoreError, Execution, Principal, ProjectId, ResourceRef};

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

/// Whether `principal` may read `execution`'s inputs, and so everything derived from them
/// (its steps, its timeline, its human tasks): those of an event-triggered one describe the
/// event's subject, which takes reading that subject — the project, or the users. A project
/// that is gone is readable through the audit trail, which keeps the same details; while it
/// exists, only those who may read it (its members, if it is private) see its events.
pub async fn may_see(
    authorizer: &dyn Authorizer,
    principal: &Principal,
    execution: &Execution,
) -> Result<bool, CoreError> {
    let (action, resource) = match of_execution(execution) {
        None => return Ok(true),
        Some(Subject::User) => (permissions::USERS_READ, ResourceRef::any("user")),
        Some(Subject::Project(id)) => (permissions::PROJECTS_READ, ResourceRef::one("project", id)),
    };
    let decision = authorizer.check(principal, &action, &resource).await?;
    if decision.allowed {
        return Ok(true);
    }
    let gone = resource.kind == "project" && decision.reason == permissions::NO_SUCH_PROJECT;
    Ok(gone
        && authorizer
            .check(
                principal,
                &permissions::AUDIT_READ,
                &ResourceRef::any("audit"),
            )
            .await?
            .allowed)
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
}
