//! The workflow definition format (docs/design.md section 7) and its structural validation: what a
//! save must refuse before anything runs. Every error names the step and the field, so a
//! person can fix the document without reading code.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use usvc_core::{CoreError, FieldError, TriggerKind, WorkflowTrigger};

pub use crate::duration::parse_duration;
use crate::kinds::Kinds;
use crate::schedule::Schedule;
use crate::template::{check_expression, check_template, Checks};

/// The most steps one workflow may have.
pub const MAX_STEPS: usize = 200;
/// The most triggers one definition may have.
pub const MAX_TRIGGERS: usize = 20;

/// A workflow as saved: a DAG of steps with its triggers and failure policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// Display name.
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// What starts an execution besides a manual start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<Trigger>,
    /// A JSON Schema the inputs of an execution must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<serde_json::Value>,
    /// The steps; order does not matter, `depends_on` does.
    pub steps: Vec<Step>,
    /// What a failed step does to the rest.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// How long an execution may take from its start (`"1h"`, `"7d"`); past it, it fails
    /// and what is open is cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// How many executions may run at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Concurrency>,
    /// Who saved this version (not part of the document): whom the steps of a triggered
    /// execution act as.
    #[serde(skip)]
    pub saved_by: Option<usvc_core::UserId>,
}

/// What starts an execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// Only `POST …/executions`.
    Manual,
    /// A domain event of `event` type (`project.created`), if `filter` (an expression) holds.
    Event {
        /// The event type.
        event: String,
        /// An expression over `event`; absent means every event of the type.
        #[serde(default)]
        filter: Option<String>,
    },
    /// A cron schedule.
    Schedule {
        /// Five-field cron expression.
        cron: String,
        /// IANA time zone (default UTC).
        #[serde(default)]
        timezone: Option<String>,
    },
}

/// One step of the DAG.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Unique in the workflow: letters, digits, `_` and `-`, starting with a letter.
    pub id: String,
    /// One of the engine's kinds (`Kinds::builtin`).
    pub kind: String,
    /// Steps that must succeed (or be skipped) before this one runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// The kind's parameters; every string in it is a template.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub with: BTreeMap<String, serde_json::Value>,
    /// An expression; false skips the step.
    #[serde(default, rename = "if", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Retries of a failed attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// How long one attempt may run (`"30s"`, `"5m"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// Retries with exponential backoff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Attempts in all, the first included (1-20).
    pub max_attempts: u32,
    /// The wait before the second attempt (`"1s"`); doubled each time.
    #[serde(default)]
    pub initial: Option<String>,
    /// The longest wait between attempts.
    #[serde(default)]
    pub max: Option<String>,
}

/// What a failed step does to the rest of the execution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Cancel what runs, start nothing more.
    #[default]
    FailFast,
    /// Run every branch that does not depend on the failed step.
    Continue,
}

/// A limit on concurrent executions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Concurrency {
    /// Executions running at once (at least 1).
    pub limit: u32,
    /// An expression over `inputs`: the limit applies per distinct value.
    #[serde(default)]
    pub key: Option<String>,
}

/// The variables a step's templates see.
pub const TEMPLATE_ROOTS: [&str; 4] = ["inputs", "steps", "execution", "workflow"];

/// The `with` fields of a kind that hold a bare expression rather than a template.
fn expression_fields(kinds: &Kinds, kind: &str) -> &'static [&'static str] {
    kinds.get(kind).map_or(&[], |k| k.expression_fields())
}

/// Every string inside `value`, with its field path; `bare` marks expressions (only a
/// top-level string of an expression field is one).
fn strings<'a>(
    value: &'a serde_json::Value,
    path: String,
    bare: bool,
    out: &mut Vec<(String, &'a str, bool)>,
) {
    match value {
        serde_json::Value::String(s) => out.push((path, s, bare)),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                strings(item, format!("{path}[{i}]"), false, out);
            }
        }
        serde_json::Value::Object(fields) => {
            for (key, item) in fields {
                strings(item, format!("{path}.{key}"), false, out);
            }
        }
        _ => {}
    }
}

/// Compiles a bare expression that may read only `roots`.
fn check_bare(
    errors: &mut Vec<FieldError>,
    field: String,
    source: &str,
    roots: &[&str],
    checks: Checks,
) {
    match check_expression(source, checks) {
        Err(message) => err(errors, field, message),
        Ok(refs) => {
            if let Some(root) = refs.unknown_root(roots) {
                err(
                    errors,
                    field,
                    format!("reads `{root}`; it may read only {}", roots.join(", ")),
                );
            }
        }
    }
}

/// A step's timeout and retry bounds.
fn check_limits(step: &Step, at: &dyn Fn(&str) -> String, errors: &mut Vec<FieldError>) {
    if let Some(timeout) = &step.timeout {
        if parse_duration(timeout).is_none() {
            err(errors, at("timeout"), "must be like `30s`, `5m` or `1h`");
        }
    }
    if let Some(retry) = &step.retry {
        if !(1..=20).contains(&retry.max_attempts) {
            err(errors, at("retry.max_attempts"), "must be 1-20");
        }
        for (name, value) in [("initial", &retry.initial), ("max", &retry.max)] {
            if value
                .as_deref()
                .is_some_and(|v| parse_duration(v).is_none())
            {
                err(
                    errors,
                    at(&format!("retry.{name}")),
                    "must be like `1s` or `5m`",
                );
            }
        }
    }
}

fn err(errors: &mut Vec<FieldError>, field: String, message: impl Into<String>) {
    errors.push(FieldError {
        field,
        message: message.into(),
    });
}

fn valid_id(id: &str) -> bool {
    id.len() <= 64
        && id.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Definition {
    /// Reads a definition document (JSON, or YAML already turned into JSON) and validates
    /// it. A document that does not have the format's shape is a `Validation` error naming
    /// the field (`steps[1].retry.max_attempts`), like every other mistake.
    pub fn from_document(document: serde_json::Value) -> Result<Self, CoreError> {
        let definition: Self = serde_path_to_error::deserialize(document).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                "definition".to_owned()
            } else {
                path
            };
            CoreError::invalid(field, e.into_inner().to_string())
        })?;
        definition.validate()?;
        Ok(definition)
    }

    /// Checks an execution's inputs against the `inputs` schema (if any): every mismatch
    /// is a `Validation` error naming its place (`inputs.customer.email`).
    pub fn check_inputs(&self, inputs: &serde_json::Value) -> Result<(), CoreError> {
        match &self.inputs {
            Some(schema) => crate::schema::check(schema, inputs, "inputs"),
            None => Ok(()),
        }
    }

    /// The event and schedule triggers, as the store indexes them (manual ones need none).
    pub fn stored_triggers(&self) -> Vec<WorkflowTrigger> {
        self.triggers
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                let (kind, event) = match t {
                    Trigger::Manual => return None,
                    Trigger::Event { event, .. } => (TriggerKind::Event, Some(event.clone())),
                    Trigger::Schedule { .. } => (TriggerKind::Schedule, None),
                };
                Some(WorkflowTrigger {
                    position: i32::try_from(i).ok()?,
                    kind,
                    event,
                })
            })
            .collect()
    }

    /// The document as stored: the definition with its defaults filled in.
    pub fn to_document(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Checks what a save must refuse: a name, 1-200 steps with unique well-formed ids, known
    /// kinds, dependencies on existing steps, no cycle, sane retries, timeouts and limits.
    /// Every problem is reported, each with its field (`steps[2].depends_on[0]`).
    pub fn validate(&self) -> Result<(), CoreError> {
        let kinds = Kinds::registry();
        let mut errors = Vec::new();
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            err(&mut errors, "name".into(), "must be 1-200 characters");
        }
        if self.steps.is_empty() || self.steps.len() > MAX_STEPS {
            err(
                &mut errors,
                "steps".into(),
                format!("must hold 1-{MAX_STEPS} steps"),
            );
        }
        if self.triggers.len() > MAX_TRIGGERS {
            err(
                &mut errors,
                "triggers".into(),
                format!("must hold at most {MAX_TRIGGERS} triggers"),
            );
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, step) in self.steps.iter().enumerate() {
            let at = |field: &str| format!("steps[{i}].{field}");
            if !valid_id(&step.id) {
                err(
                    &mut errors,
                    at("id"),
                    "must be 1-64 letters, digits, `_` or `-`, starting with a letter",
                );
            } else if let Some(first) = seen.insert(&step.id, i) {
                err(
                    &mut errors,
                    at("id"),
                    format!("`{}` is also the id of steps[{first}]", step.id),
                );
            }
            match kinds.get(&step.kind) {
                None => err(
                    &mut errors,
                    at("kind"),
                    format!("`{}` is not one of {}", step.kind, kinds.names().join(", ")),
                ),
                Some(kind) => {
                    for (field, message) in kind.check(&step.with) {
                        err(&mut errors, at(&format!("with.{field}")), message);
                    }
                }
            }
            check_limits(step, &at, &mut errors);
        }
        for (i, step) in self.steps.iter().enumerate() {
            let mut deps = HashSet::new();
            for (j, dep) in step.depends_on.iter().enumerate() {
                let field = format!("steps[{i}].depends_on[{j}]");
                if dep == &step.id {
                    err(&mut errors, field, "a step cannot depend on itself");
                } else if !seen.contains_key(dep.as_str()) {
                    err(&mut errors, field, format!("no step has the id `{dep}`"));
                } else if !deps.insert(dep) {
                    err(&mut errors, field, format!("`{dep}` is listed twice"));
                }
            }
        }
        self.check_branches(&mut errors);
        self.check_execution_limits(&mut errors);
        self.check_self_trigger(&mut errors);
        let mut graph_ok = errors.is_empty();
        if graph_ok {
            if let Some(cycle) = self.cycle() {
                graph_ok = false;
                err(
                    &mut errors,
                    "steps".into(),
                    format!("the dependencies form a cycle: {}", cycle.join(" → ")),
                );
            }
        }
        self.check_templates(kinds, graph_ok, &mut errors);
        if let Some(schema) = &self.inputs {
            if let Err(message) = crate::schema::compile(schema) {
                err(&mut errors, "inputs".into(), message);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(CoreError::Validation(errors))
        }
    }

    /// An `event` step may not emit the type the workflow itself listens to: each execution
    /// would start the next, forever.
    fn check_self_trigger(&self, errors: &mut Vec<FieldError>) {
        let listens: Vec<&str> = self
            .triggers
            .iter()
            .filter_map(|t| match t {
                Trigger::Event { event, .. } => Some(event.as_str()),
                _ => None,
            })
            .collect();
        for (i, step) in self.steps.iter().enumerate() {
            let emits = Kinds::registry()
                .get(&step.kind)
                .and_then(|kind| kind.emits(&step.with));
            if let Some(kind) = emits.filter(|k| listens.contains(k)) {
                err(
                    errors,
                    format!("steps[{i}].with.type"),
                    format!("the workflow is triggered by `{kind}`: emitting it would start it again, forever"),
                );
            }
        }
    }

    /// The execution's `timeout` and `concurrency` limit.
    fn check_execution_limits(&self, errors: &mut Vec<FieldError>) {
        if self
            .timeout
            .as_deref()
            .is_some_and(|t| parse_duration(t).is_none())
        {
            err(errors, "timeout".into(), "must be like `30m`, `1h` or `7d`");
        }
        if self.concurrency.as_ref().is_some_and(|c| c.limit == 0) {
            err(errors, "concurrency.limit".into(), "must be at least 1");
        }
    }

    /// The branches a step chooses between (an approval's `on_reject`) may name only steps
    /// that depend on it directly.
    fn check_branches(&self, errors: &mut Vec<FieldError>) {
        for (i, step) in self.steps.iter().enumerate() {
            let Some(kind) = Kinds::registry().get(&step.kind) else {
                continue;
            };
            for (j, id) in kind.branches(&step.with).into_iter().enumerate() {
                let follows = self
                    .steps
                    .iter()
                    .any(|s| s.id == id && s.depends_on.contains(&step.id));
                if !follows {
                    err(
                        errors,
                        format!("steps[{i}].with.on_reject[{j}]"),
                        format!("`{id}` is not a step that depends on `{}`", step.id),
                    );
                }
            }
        }
    }

    /// Compiles every template and expression. Each may read only what exists when it runs:
    /// the template roots, and the outputs of steps upstream of its own (checked when the
    /// graph itself is sound, `graph_ok`).
    fn check_templates(&self, kinds: &Kinds, graph_ok: bool, errors: &mut Vec<FieldError>) {
        let upstream = graph_ok.then(|| self.upstream());
        let checks = Checks::start();
        for (i, step) in self.steps.iter().enumerate() {
            let mut sources: Vec<(String, &str, bool)> = Vec::new();
            if let Some(condition) = &step.condition {
                sources.push((format!("steps[{i}].if"), condition, true));
            }
            let literal = kinds
                .get(&step.kind)
                .map_or(&[][..], |k| k.literal_fields());
            for (key, value) in &step.with {
                if literal.contains(&key.as_str()) {
                    continue;
                }
                let bare = expression_fields(kinds, &step.kind).contains(&key.as_str());
                strings(value, format!("steps[{i}].with.{key}"), bare, &mut sources);
            }
            for (field, source, bare) in sources {
                let compiled = if bare {
                    check_expression(source, checks)
                } else {
                    check_template(source, checks)
                };
                let refs = match compiled {
                    Ok(refs) => refs,
                    Err(message) => {
                        err(errors, field, message);
                        continue;
                    }
                };
                if let Some(root) = refs.unknown_root(&TEMPLATE_ROOTS) {
                    err(
                        errors,
                        field,
                        format!(
                            "reads `{root}`; templates see only {}",
                            TEMPLATE_ROOTS.join(", ")
                        ),
                    );
                    continue;
                }
                let Some(upstream) = &upstream else { continue };
                for read in &refs.steps {
                    if !upstream[i].contains(read.as_str()) {
                        err(
                            errors,
                            field.clone(),
                            format!(
                                "reads `steps.{read}`, but `{read}` is not a step that `{}` depends on, directly or through others",
                                step.id
                            ),
                        );
                    }
                }
            }
        }
        for (i, trigger) in self.triggers.iter().enumerate() {
            match trigger {
                Trigger::Event {
                    filter: Some(filter),
                    ..
                } => check_bare(
                    errors,
                    format!("triggers[{i}].filter"),
                    filter,
                    &["event"],
                    checks,
                ),
                Trigger::Schedule { cron, timezone } => {
                    if let Err((field, message)) = Schedule::parse(cron, timezone.as_deref()) {
                        err(errors, format!("triggers[{i}].{field}"), message);
                    }
                }
                _ => {}
            }
        }
        if let Some(Concurrency { key: Some(key), .. }) = &self.concurrency {
            check_bare(errors, "concurrency.key".into(), key, &["inputs"], checks);
        }
    }

    /// For each step (by index), the ids of every step it depends on, directly or not.
    fn upstream(&self) -> Vec<HashSet<&str>> {
        let by_id: HashMap<&str, &Step> = self.steps.iter().map(|s| (s.id.as_str(), s)).collect();
        self.steps
            .iter()
            .map(|step| {
                let mut seen: HashSet<&str> = HashSet::new();
                let mut todo: Vec<&str> = step.depends_on.iter().map(String::as_str).collect();
                while let Some(id) = todo.pop() {
                    if seen.insert(id) {
                        if let Some(dep) = by_id.get(id) {
                            todo.extend(dep.depends_on.iter().map(String::as_str));
                        }
                    }
                }
                seen
            })
            .collect()
    }

    /// A dependency cycle, as step ids, if there is one (ids and references already valid).
    fn cycle(&self) -> Option<Vec<String>> {
        // Kahn's algorithm: what cannot be ordered lies on or behind a cycle.
        let mut waiting: HashMap<&str, usize> = self
            .steps
            .iter()
            .map(|s| (s.id.as_str(), s.depends_on.len()))
            .collect();
        let mut ready: Vec<&str> = waiting
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(id, _)| *id)
            .collect();
        while let Some(done) = ready.pop() {
            waiting.remove(done);
            for step in &self.steps {
                if step.depends_on.iter().any(|d| d == done) {
                    if let Some(n) = waiting.get_mut(step.id.as_str()) {
                        *n -= 1;
                        if *n == 0 {
                            ready.push(&step.id);
                        }
                    }
                }
            }
        }
        if waiting.is_empty() {
            return None;
        }
        // Walk dependencies among the leftovers until a step repeats: that loop is a cycle.
        let by_id: HashMap<&str, &Step> = self.steps.iter().map(|s| (s.id.as_str(), s)).collect();
        let mut path: Vec<&str> = Vec::new();
        let mut at = self
            .steps
            .iter()
            .map(|s| s.id.as_str())
            .find(|id| waiting.contains_key(id))?;
        loop {
            if let Some(start) = path.iter().position(|p| *p == at) {
                let mut cycle: Vec<String> =
                    path[start..].iter().map(|s| (*s).to_owned()).collect();
                cycle.push(at.to_owned());
                return Some(cycle);
            }
            path.push(at);
            at = by_id
                .get(at)?
                .depends_on
                .iter()
                .map(String::as_str)
                .find(|d| waiting.contains_key(d))?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> Definition {
        serde_json::from_value(json).expect("parses")
    }

    fn fields(result: Result<(), CoreError>) -> Vec<String> {
        match result {
            Err(CoreError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    /// The examples in docs/workflows.md are valid definitions, so the docs cannot drift.
    #[test]
    fn the_documented_examples_are_valid() {
        let doc = include_str!("../../../docs/workflows.md");
        let blocks: Vec<&str> = doc
            .split("```yaml\n")
            .skip(1)
            .filter_map(|b| b.split("```").next())
            .collect();
        assert_eq!(blocks.len(), 7);
        for block in blocks {
            let document: serde_json::Value = serde_yaml_ng::from_str(block).unwrap();
            if let Err(e) = Definition::from_document(document) {
                panic!("{e}\n{block}");
            }
        }
    }

    #[test]
    fn the_issue_example_is_valid() {
        let review = parse(serde_json::json!({"name": "review", "steps": [
          {"id": "start", "kind": "transform", "with": {"n": "{{ inputs.n }}"}},
          {"id": "double", "kind": "transform", "depends_on": ["start"], "with": {"v": "{{ steps.start.output.n * 2 }}"}},
          {"id": "gate", "kind": "condition", "depends_on": ["start"], "with": {"expr": "inputs.n > 10"}},
          {"id": "big", "kind": "noop", "depends_on": ["gate"]},
          {"id": "approve", "kind": "approval", "depends_on": ["double"],
           "with": {"assignee_role": "admin", "title": "Approve {{ inputs.n }}"}}
        ]}));
        assert_eq!(review.validate(), Ok(()));
        assert_eq!(review.on_failure, OnFailure::FailFast);
    }

    #[test]
    fn an_on_reject_branch_names_only_direct_dependents() {
        let bad = parse(serde_json::json!({"name": "r", "steps": [
          {"id": "ask", "kind": "approval",
           "with": {"title": "ok?", "assignee_role": "admin", "on_reject": ["undo", "later", "ghost"],
                    "form": {"type": "object", "properties": {"note": {"type": "string", "title": "{{ not a template"}}}}},
          {"id": "undo", "kind": "noop", "depends_on": ["ask"]},
          {"id": "later", "kind": "noop", "depends_on": ["undo"]}
        ]}));
        assert_eq!(
            fields(bad.validate()),
            ["steps[0].with.on_reject[1]", "steps[0].with.on_reject[2]"],
            "the form is taken as written, not compiled as a template"
        );
    }

    #[test]
    fn every_structural_problem_is_named_with_its_step_and_field() {
        let bad = parse(serde_json::json!({"name": "", "steps": [
          {"id": "a", "kind": "noop"},
          {"id": "a", "kind": "teleport", "timeout": "soon"},
          {"id": "9lives", "kind": "noop", "depends_on": ["ghost", "9lives"]},
          {"id": "c", "kind": "noop", "depends_on": ["a", "a"], "retry": {"max_attempts": 0, "initial": "x"}}
        ], "concurrency": {"limit": 0}}));
        assert_eq!(
            fields(bad.validate()),
            [
                "name",
                "steps[1].id",
                "steps[1].kind",
                "steps[1].timeout",
                "steps[2].id",
                "steps[3].retry.max_attempts",
                "steps[3].retry.initial",
                "steps[2].depends_on[0]",
                "steps[2].depends_on[1]",
                "steps[3].depends_on[1]",
                "concurrency.limit",
            ]
        );
        assert_eq!(
            fields(parse(serde_json::json!({"name": "x", "steps": []})).validate()),
            ["steps"]
        );
    }

    #[test]
    fn templates_must_compile_and_read_only_upstream_steps() {
        let bad = parse(serde_json::json!({"name": "t", "steps": [
          {"id": "a", "kind": "transform", "with": {"x": "{{ inputs.n "}},
          {"id": "b", "kind": "transform", "depends_on": ["a"],
           "with": {"ok": "{{ steps.a.output.x }}", "deep": {"list": ["{% if %}"]}}},
          {"id": "c", "kind": "condition", "depends_on": ["a"], "with": {"expr": "steps.b.output.ok >"}},
          {"id": "d", "kind": "noop", "depends_on": ["a"], "if": "steps.b.output.ok",
           "with": {"note": "{{ secrets.key }}"}}
        ], "triggers": [{"type": "event", "event": "project.created", "filter": "inputs.x"}],
           "concurrency": {"limit": 1, "key": "inputs.tenant"}}));
        let Err(CoreError::Validation(errors)) = bad.validate() else {
            panic!("must be refused")
        };
        let got: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(got.len(), 6, "{got:?}");
        assert!(got[0].0 == "steps[0].with.x" && got[0].1.contains("syntax error"));
        assert!(got[1].0 == "steps[1].with.deep.list[0]" && got[1].1.contains("syntax error"));
        assert!(got[2].0 == "steps[2].with.expr" && got[2].1.contains("syntax error"));
        assert!(
            got[3].0 == "steps[3].if" && got[3].1.contains("`b` is not a step that `d` depends on")
        );
        assert!(got[4].0 == "steps[3].with.note" && got[4].1.contains("reads `secrets`"));
        assert!(got[5].0 == "triggers[0].filter" && got[5].1.contains("reads `inputs`"));
    }

    #[test]
    fn the_inputs_schema_is_checked_at_save_and_applied_at_start() {
        let bad = parse(
            serde_json::json!({"name": "s", "inputs": {"type": "nonsense"},
            "steps": [{"id": "a", "kind": "noop"}]}),
        );
        assert_eq!(fields(bad.validate()), ["inputs"]);
        let good = parse(
            serde_json::json!({"name": "s", "steps": [{"id": "a", "kind": "noop"}],
            "inputs": {"type": "object", "required": ["n"],
                       "properties": {"n": {"type": "integer", "minimum": 0},
                                      "who": {"type": "object", "properties": {"email": {"type": "string"}}}}}}),
        );
        assert_eq!(good.validate(), Ok(()));
        assert_eq!(good.check_inputs(&serde_json::json!({"n": 3})), Ok(()));
        let Err(CoreError::Validation(errors)) =
            good.check_inputs(&serde_json::json!({"n": -1, "who": {"email": 7}}))
        else {
            panic!("must be refused")
        };
        let mut named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        named.sort_unstable();
        assert_eq!(named, ["inputs.n", "inputs.who.email"]);
        assert!(matches!(
            good.check_inputs(&serde_json::json!({})),
            Err(CoreError::Validation(_))
        ));
    }

    #[test]
    fn a_cycle_is_refused_and_spelled_out() {
        let looped = parse(serde_json::json!({"name": "loop", "steps": [
          {"id": "start", "kind": "noop"},
          {"id": "a", "kind": "noop", "depends_on": ["start", "c"]},
          {"id": "b", "kind": "noop", "depends_on": ["a"]},
          {"id": "c", "kind": "noop", "depends_on": ["b"]},
          {"id": "after", "kind": "noop", "depends_on": ["c"]}
        ]}));
        match looped.validate() {
            Err(CoreError::Validation(errors)) => {
                assert_eq!(errors.len(), 1);
                assert_eq!(errors[0].field, "steps");
                assert!(
                    errors[0].message.ends_with("a → c → b → a"),
                    "{}",
                    errors[0].message
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_fields_and_triggers_do_not_parse() {
        assert!(serde_json::from_value::<Definition>(
            serde_json::json!({"name": "x", "steps": [], "colour": "red"})
        )
        .is_err());
        let triggered = parse(
            serde_json::json!({"name": "x", "steps": [{"id": "a", "kind": "noop"}],
            "triggers": [{"type": "event", "event": "project.created", "filter": "event.payload.name != ''"},
                         {"type": "schedule", "cron": "0 9 * * 1", "timezone": "Europe/Paris"},
                         {"type": "manual"}]}),
        );
        assert_eq!(triggered.triggers.len(), 3);
        assert!(serde_json::from_value::<Trigger>(serde_json::json!({"type": "webhook"})).is_err());
    }

    #[test]
    fn durations_are_whole_numbers_with_a_unit() {
        assert_eq!(
            parse_duration("1h"),
            Some(std::time::Duration::from_secs(3600))
        );
        assert_eq!(
            parse_duration("250ms"),
            Some(std::time::Duration::from_millis(250))
        );
        for bad in ["", "h", "0s", "1.5s", "10", "5 m", "-1s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(
            parse_duration("366d"),
            Some(std::time::Duration::from_secs(366 * 86_400))
        );
        assert_eq!(parse_duration("367d"), None, "past a year");
        assert_eq!(parse_duration("100000000d"), None);
    }
}
