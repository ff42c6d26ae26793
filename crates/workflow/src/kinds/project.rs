//! `project.create` and `project.update` (one file: they share the project's fields): act on
//! projects through the `ProjectActions` port as the person the execution acts for — who
//! started it, or for a triggered execution who saved the workflow version — so a workflow
//! can do no more than that person could through the API, and every change is audited as
//! theirs.
//!
//! - `project.create` — `with`: the project's editable fields ([`ProjectFields`], the shape
//!   the API's create body has: `name` required, `description`, `visibility`, `tags`,
//!   `settings`). Created once per execution and step however often the
//!   step is retried (the step's idempotency key). Output: the project.
//! - `project.update` — `with`: `project_id` (required) and the fields to change. Output:
//!   the project.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;
use usvc_core::ports::Acting;
use usvc_core::{CoreError, ProjectFields, ProjectId};

use super::{StepCall, StepEnv, StepKind, StepOutcome};

/// The project fields a step may set.
const FIELDS: &[&str] = &ProjectFields::NAMES;

/// `project.create`.
pub(super) struct CreateProject;

/// `project.update`.
pub(super) struct UpdateProject;

/// Unknown fields, and literal values of the wrong shape.
fn check_fields(with: &BTreeMap<String, Value>, extra: &[&str]) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    for field in with
        .keys()
        .filter(|k| !FIELDS.contains(&k.as_str()) && !extra.contains(&k.as_str()))
    {
        errors.push((
            field.clone(),
            format!("is not one of {}", [FIELDS, extra].concat().join(", ")),
        ));
    }
    if let Some(Value::String(v)) = with.get("visibility") {
        if !v.contains("{{") && !["private", "tenant"].contains(&v.as_str()) {
            errors.push(("visibility".into(), "must be `private` or `tenant`".into()));
        }
    }
    errors
}

/// The person the step acts as.
fn acting(call: &StepCall) -> Result<Acting, String> {
    call.actor
        .map(|user| Acting {
            tenant: call.tenant,
            user,
        })
        .ok_or_else(|| {
            "no person to act as: the execution has no starter and its workflow version no author"
                .into()
        })
}

/// The rendered `with` read as project fields (unknown fields and wrong shapes refused). A
/// field that rendered to `null` (a template over an input left out) is left out: a step sets
/// only what it was given, never a field back to its default by accident.
fn fields_of(mut with: serde_json::Map<String, Value>) -> Result<ProjectFields, String> {
    with.retain(|_, v| !v.is_null());
    serde_json::from_value(Value::Object(with))
        .map_err(|e| format!("`with` is not a set of project fields: {e}"))
}

/// A refusal the step reports (and, per its `retry`, tries again).
fn failed(e: &CoreError) -> StepOutcome {
    StepOutcome::Failed(match e {
        CoreError::Validation(errors) => errors
            .iter()
            .map(|f| format!("`{}` {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    })
}

#[async_trait]
impl StepKind for CreateProject {
    fn name(&self) -> &'static str {
        "project.create"
    }

    fn check(&self, with: &BTreeMap<String, Value>) -> Vec<(String, String)> {
        let mut errors = check_fields(with, &[]);
        if !with.get("name").is_some_and(Value::is_string) {
            errors.push(("name".into(), "is required: the project's name".into()));
        }
        errors
    }

    async fn run(&self, call: StepCall, env: &StepEnv) -> StepOutcome {
        let actor = match acting(&call) {
            Ok(actor) => actor,
            Err(e) => return StepOutcome::Failed(e),
        };
        let fields = match fields_of(call.with.clone()) {
            Ok(fields) => fields,
            Err(e) => return StepOutcome::Failed(e),
        };
        match env
            .projects
            .create(actor, fields, call.idempotency_key.clone())
            .await
        {
            Ok(project) => StepOutcome::Succeeded(project),
            Err(e) => failed(&e),
        }
    }
}

#[async_trait]
impl StepKind for UpdateProject {
    fn name(&self) -> &'static str {
        "project.update"
    }

    fn check(&self, with: &BTreeMap<String, Value>) -> Vec<(String, String)> {
        let mut errors = check_fields(with, &["project_id"]);
        match with.get("project_id") {
            Some(Value::String(id)) if id.contains("{{") || id.parse::<ProjectId>().is_ok() => {}
            _ => errors.push(("project_id".into(), "is required: a project id".into())),
        }
        errors
    }

    async fn run(&self, call: StepCall, env: &StepEnv) -> StepOutcome {
        let actor = match acting(&call) {
            Ok(actor) => actor,
            Err(e) => return StepOutcome::Failed(e),
        };
        let Some(project) = call
            .with
            .get("project_id")
            .and_then(Value::as_str)
            .and_then(|id| id.trim().parse::<ProjectId>().ok())
        else {
            return StepOutcome::Failed("`with.project_id` must render to a project id".into());
        };
        let mut with = call.with.clone();
        with.remove("project_id");
        let fields = match fields_of(with) {
            Ok(fields) => fields,
            Err(e) => return StepOutcome::Failed(e),
        };
        match env.projects.update(actor, project, fields).await {
            Ok(project) => StepOutcome::Succeeded(project),
            Err(e) => failed(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use usvc_core::ports::MockProjectActions;
    use usvc_core::UserId;

    use super::*;
    use crate::kinds::tests::{call, no_env};

    fn with(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_save_names_missing_and_unknown_fields() {
        let fields = |kind: &dyn StepKind, v: Value| -> Vec<String> {
            kind.check(&with(v)).into_iter().map(|(f, _)| f).collect()
        };
        assert!(fields(
            &CreateProject,
            json!({"name": "{{ inputs.name }}", "tags": ["a"]})
        )
        .is_empty());
        assert_eq!(fields(&CreateProject, json!({"tags": []})), ["name"]);
        assert_eq!(
            fields(
                &CreateProject,
                json!({"name": "x", "owner_id": "u1", "visibility": "public"})
            ),
            ["owner_id", "visibility"]
        );
        assert!(fields(
            &UpdateProject,
            json!({"project_id": "{{ steps.a.output.id }}", "tags": []})
        )
        .is_empty());
        assert_eq!(fields(&UpdateProject, json!({"name": "x"})), ["project_id"]);
    }

    #[tokio::test]
    async fn steps_act_as_their_person_once_per_step() {
        let user = UserId::new();
        let mut c = call(json!({"name": "Apollo", "tags": ["space"]}), json!({}));
        c.actor = Some(user);
        let (tenant, key) = (c.tenant, c.idempotency_key.clone());
        let mut actions = MockProjectActions::new();
        actions
            .expect_create()
            .withf(move |actor, fields, k| {
                *actor == Acting { tenant, user }
                    && *fields
                        == ProjectFields {
                            name: Some("Apollo".into()),
                            tags: Some(vec!["space".into()]),
                            ..ProjectFields::default()
                        }
                    && *k == key
            })
            .times(1)
            .returning(|_, _, _| Ok(json!({"id": "p1", "name": "Apollo"})));
        let project = ProjectId::new();
        actions
            .expect_update()
            .withf(move |_, id, fields| {
                *id == project
                    && fields.tags == Some(vec!["moon".into()])
                    && fields.name.is_none()
                    // Rendered nulls (inputs left out) are left out, not reset.
                    && fields.description.is_none()
                    && fields.visibility.is_none()
            })
            .times(1)
            .returning(|_, _, _| Err(CoreError::Forbidden("no project role".into())));
        let env = StepEnv {
            projects: Arc::new(actions),
            ..no_env()
        };
        assert_eq!(
            CreateProject.run(c, &env).await,
            StepOutcome::Succeeded(json!({"id": "p1", "name": "Apollo"}))
        );
        let mut u = call(
            json!({"project_id": project.to_string(), "tags": ["moon"],
                   "description": null, "visibility": null}),
            json!({}),
        );
        u.actor = Some(user);
        assert!(matches!(
            UpdateProject.run(u, &env).await,
            StepOutcome::Failed(e) if e.contains("no project role")
        ));
        let mut odd = call(json!({"name": "x", "tags": "space"}), json!({}));
        odd.actor = Some(user);
        assert!(matches!(
            CreateProject.run(odd, &env).await,
            StepOutcome::Failed(e) if e.contains("not a set of project fields")
        ));
        let nobody = call(json!({"name": "x"}), json!({}));
        assert!(matches!(
            CreateProject.run(nobody, &env).await,
            StepOutcome::Failed(e) if e.contains("no person")
        ));
    }
}
