//! What a `project.*` step returns is the project it created or changed: its name,
//! description, tags, settings. An execution is readable by everyone holding
//! `workflows:read`, a private project only by its members; so a project step's output (and
//! its copy in the execution's `output`) is shown only to those who may read the project
//! now, and to others replaced by [`hidden`]. What the workflow's author copies from it into
//! other steps (a template, an `http` call) is theirs to disclose, as anything they write
//! where the tenant can read it.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use usvc_core::ports::Authorizer;
use usvc_core::{CoreError, Execution, ExecutionState, Principal, ProjectId};

use crate::definition::Definition;
use crate::subject;

/// What stands in for an output its reader may not see.
pub fn hidden() -> Value {
    json!({"hidden": "this step's output describes a project you may not read"})
}

/// The project a step of `kind` returned as `output`, if it is a project step.
fn project_of(kind: &str, output: &Value) -> Option<ProjectId> {
    if !kind.starts_with("project.") {
        return None;
    }
    output.get("id")?.as_str()?.parse().ok()
}

/// Answers, per project, whether the reader may read it (asked once per project).
struct Readable<'a> {
    authorizer: &'a dyn Authorizer,
    principal: &'a Principal,
    known: HashMap<ProjectId, bool>,
}

impl Readable<'_> {
    /// Whether `output`, returned by a step of `kind`, is the reader's to see.
    async fn may_see(&mut self, kind: &str, output: &Value) -> Result<bool, CoreError> {
        let Some(project) = project_of(kind, output) else {
            return Ok(true);
        };
        if let Some(known) = self.known.get(&project) {
            return Ok(*known);
        }
        let may = subject::may_read_project(self.authorizer, self.principal, project).await?;
        self.known.insert(project, may);
        Ok(may)
    }
}

/// Hides, in `state`, the project steps' outputs the reader may not see.
pub async fn hide_in_state(
    authorizer: &dyn Authorizer,
    principal: &Principal,
    state: &mut ExecutionState,
) -> Result<(), CoreError> {
    let mut readable = Readable {
        authorizer,
        principal,
        known: HashMap::new(),
    };
    let mut kinds = HashMap::new();
    for step in &mut state.steps {
        kinds.insert(step.step_id.clone(), step.kind.clone());
        if let Some(output) = &step.output {
            if !readable.may_see(&step.kind, output).await? {
                step.output = Some(hidden());
            }
        }
    }
    hide_in_output(&mut readable, &kinds, &mut state.execution).await
}

/// Hides, in each of `executions` (all of `definition`'s workflow and version, as a
/// listing's are not necessarily), the project steps' outputs in its `output`.
pub async fn hide_in_executions(
    authorizer: &dyn Authorizer,
    principal: &Principal,
    definitions: &BTreeMap<i64, std::sync::Arc<Definition>>,
    executions: &mut [Execution],
) -> Result<(), CoreError> {
    let mut readable = Readable {
        authorizer,
        principal,
        known: HashMap::new(),
    };
    for execution in executions {
        let Some(definition) = definitions.get(&execution.version) else {
            continue;
        };
        let kinds: HashMap<String, String> = definition
            .steps
            .iter()
            .map(|s| (s.id.clone(), s.kind.clone()))
            .collect();
        hide_in_output(&mut readable, &kinds, execution).await?;
    }
    Ok(())
}

/// Hides the entries of `execution.output` (the final steps' outputs, by step id) that are
/// project steps' outputs the reader may not see.
async fn hide_in_output(
    readable: &mut Readable<'_>,
    kinds: &HashMap<String, String>,
    execution: &mut Execution,
) -> Result<(), CoreError> {
    let Some(Value::Object(outputs)) = &mut execution.output else {
        return Ok(());
    };
    for (step, output) in outputs.iter_mut() {
        let Some(kind) = kinds.get(step) else {
            continue;
        };
        if !readable.may_see(kind, output).await? {
            *output = hidden();
        }
    }
    Ok(())
}
