//! `approval`: a human task. `with`: `title` (required), `assignee` (a user id) or
//! `assignee_role` (a tenant role; anyone holding it may answer), `description`, `form` (a
//! JSON Schema the answer's `data` must match; taken as written), `due` (a duration from
//! when the step asks, shown on the task), `on_reject` (ids of steps depending on this one
//! that run only on a rejection; taken as written). The step waits, with no timer, until
//! someone completes the task: approve and the step succeeds with `data` as its output;
//! reject and it fails — or, with `on_reject`, succeeds and only the `on_reject` steps run.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::SubsecRound as _;
use serde_json::Value;
use usvc_core::{StepRun, StepStatus, TaskDecision};

use super::{StepCall, StepEnv, StepKind, StepOutcome, TaskRequest};
use crate::duration::parse_duration;

/// The longest title kept (a templated title is cut there, not refused).
const MAX_TITLE: usize = 500;
/// The longest description kept.
const MAX_DESCRIPTION: usize = 10_000;
/// The fields the kind reads.
const FIELDS: [&str; 7] = [
    "title",
    "assignee",
    "assignee_role",
    "description",
    "form",
    "due",
    "on_reject",
];

/// The `approval` kind.
pub(super) struct Approval;

fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

/// The decision recorded on an answered approval step (`state.decision`).
fn decision(step: &StepRun) -> Option<TaskDecision> {
    step.state
        .as_ref()
        .and_then(|s| s.get("decision"))
        .and_then(|d| serde_json::from_value(d.clone()).ok())
}

/// The ids `with.on_reject` lists (literal strings).
fn reject_branch(with: &BTreeMap<String, Value>) -> Vec<&str> {
    with.get("on_reject")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[async_trait]
impl StepKind for Approval {
    fn name(&self) -> &'static str {
        "approval"
    }

    fn branches<'w>(&self, with: &'w BTreeMap<String, Value>) -> Vec<&'w str> {
        reject_branch(with)
    }

    /// With `on_reject`, the answer picks a branch: an approval (or no question at all, when
    /// the step's own `if` skipped it) closes the `on_reject` steps, a rejection the others.
    fn lets_through(
        &self,
        with: &BTreeMap<String, Value>,
        ended: &StepRun,
        dependent: &str,
    ) -> bool {
        let decision = match ended.status {
            StepStatus::Succeeded => match decision(ended) {
                Some(decision) => decision,
                None => return true,
            },
            StepStatus::Skipped if ended.skip.as_deref() == Some(crate::skip::IF) => {
                TaskDecision::Approve
            }
            _ => return true,
        };
        let branch = reject_branch(with);
        if branch.is_empty() {
            return true;
        }
        let on_reject_branch = branch.contains(&dependent);
        match decision {
            TaskDecision::Approve => !on_reject_branch,
            TaskDecision::Reject => on_reject_branch,
        }
    }

    fn literal_fields(&self) -> &'static [&'static str] {
        &["form", "on_reject"]
    }

    fn check(&self, with: &BTreeMap<String, Value>) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        for field in with.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
            errors.push((
                field.clone(),
                format!("is not one of {}", FIELDS.join(", ")),
            ));
        }
        if !with.get("title").is_some_and(Value::is_string) {
            errors.push(("title".into(), "is required: what to decide".into()));
        }
        for field in ["assignee", "assignee_role", "description"] {
            if with.get(field).is_some_and(|v| !v.is_string()) {
                errors.push((field.into(), "must be a string".into()));
            }
        }
        match (with.get("assignee"), with.get("assignee_role")) {
            (None, None) => errors.push((
                "assignee_role".into(),
                "is required (or `assignee`, a user id): who answers".into(),
            )),
            (Some(_), Some(_)) => errors.push((
                "assignee".into(),
                "give `assignee` or `assignee_role`, not both".into(),
            )),
            (Some(Value::String(user)), None)
                if !is_template(user) && user.parse::<usvc_core::UserId>().is_err() =>
            {
                errors.push(("assignee".into(), "must be a user id".into()));
            }
            _ => {}
        }
        if let Some(form) = with.get("form") {
            if !form.is_object() {
                errors.push(("form".into(), "must be a JSON Schema object".into()));
            } else if let Err(message) = crate::schema::compile(form) {
                errors.push(("form".into(), message));
            }
        }
        if let Some(due) = with.get("due") {
            if !due
                .as_str()
                .is_some_and(|d| is_template(d) || parse_duration(d).is_some())
            {
                errors.push(("due".into(), "must be like `8h` or `3d`".into()));
            }
        }
        if let Some(branch) = with.get("on_reject") {
            if !branch
                .as_array()
                .is_some_and(|ids| !ids.is_empty() && ids.iter().all(Value::is_string))
            {
                errors.push(("on_reject".into(), "must list step ids".into()));
            }
        }
        errors
    }

    async fn run(&self, call: StepCall, _env: &StepEnv) -> StepOutcome {
        let title = match call.text("title") {
            Ok(t) if !t.trim().is_empty() => t.trim().chars().take(MAX_TITLE).collect(),
            _ => return StepOutcome::Failed("`with.title` rendered empty".into()),
        };
        let assignee_user = match call.with.get("assignee") {
            None => None,
            Some(v) => match v.as_str().and_then(|u| u.trim().parse().ok()) {
                Some(user) => Some(user),
                None => {
                    return StepOutcome::Failed(format!(
                        "`with.assignee` must be a user id; it rendered {v}"
                    ))
                }
            },
        };
        let assignee_role = match call.with.get("assignee_role") {
            None => None,
            Some(v) => match v.as_str().map(str::trim).filter(|r| !r.is_empty()) {
                Some(role) => Some(role.to_owned()),
                None => return StepOutcome::Failed("`with.assignee_role` rendered empty".into()),
            },
        };
        let due_at = match call.with.get("due") {
            None => None,
            Some(v) => {
                let Some(due) = v
                    .as_str()
                    .and_then(parse_duration)
                    .and_then(|d| chrono::Duration::from_std(d).ok())
                else {
                    return StepOutcome::Failed(format!(
                        "`with.due` must be like `8h` or `3d`; it rendered {v}"
                    ));
                };
                Some((call.now + due).trunc_subsecs(6))
            }
        };
        StepOutcome::Ask(TaskRequest {
            assignee_user,
            assignee_role,
            title,
            description: call
                .text("description")
                .ok()
                .map(|d| d.chars().take(MAX_DESCRIPTION).collect()),
            form: call.with.get("form").cloned(),
            due_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::kinds::tests::{call, no_env};

    fn check(with: Value) -> Vec<String> {
        let with: BTreeMap<String, Value> = serde_json::from_value(with).unwrap();
        Approval.check(&with).into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn a_save_names_what_is_missing_or_wrong() {
        assert!(check(json!({"title": "ok?", "assignee_role": "admin"})).is_empty());
        assert!(
            check(json!({"title": "ok?", "assignee": "{{ inputs.manager }}",
                             "form": {"type": "object"}, "due": "3d", "on_reject": ["undo"]}))
            .is_empty()
        );
        assert_eq!(check(json!({"assignee_role": "admin"})), ["title"]);
        assert_eq!(check(json!({"title": "t"})), ["assignee_role"]);
        assert_eq!(
            check(json!({"title": "t", "assignee": "bob", "assignee_role": "admin"})),
            ["assignee"]
        );
        assert_eq!(
            check(json!({"title": "t", "assignee": "bob"})),
            ["assignee"]
        );
        assert_eq!(
            check(json!({"title": "t", "assignee_role": "a", "form": {"type": "nope"}})),
            ["form"]
        );
        assert_eq!(
            check(json!({"title": "t", "assignee_role": "a", "due": "soon"})),
            ["due"]
        );
        assert_eq!(
            check(json!({"title": "t", "assignee_role": "a", "on_reject": "undo"})),
            ["on_reject"]
        );
        assert_eq!(
            check(json!({"title": "t", "asignee_role": "a"})),
            ["asignee_role", "assignee_role"]
        );
    }

    #[tokio::test]
    async fn running_asks_for_a_task_with_the_rendered_fields() {
        let user = usvc_core::UserId::new();
        let c = call(
            json!({"title": " Approve 5 ", "assignee": user.to_string(), "due": "2h",
                   "form": {"type": "object"}, "description": "why"}),
            json!({}),
        );
        let now = c.now;
        let StepOutcome::Ask(task) = Approval.run(c, &no_env()).await else {
            panic!("an approval asks")
        };
        assert_eq!(task.title, "Approve 5");
        assert_eq!(task.assignee_user, Some(user));
        assert_eq!(task.assignee_role, None);
        assert_eq!(task.description.as_deref(), Some("why"));
        assert_eq!(task.form, Some(json!({"type": "object"})));
        assert_eq!(
            task.due_at,
            Some((now + chrono::Duration::hours(2)).trunc_subsecs(6))
        );
        let bad = call(json!({"title": "t", "assignee": "nobody"}), json!({}));
        assert!(matches!(
            Approval.run(bad, &no_env()).await,
            StepOutcome::Failed(e) if e.contains("user id")
        ));
    }
}
