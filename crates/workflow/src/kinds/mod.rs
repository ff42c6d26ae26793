//! Step kinds: one [`StepKind`] per file (the two project kinds share `project.rs`, as they
//! share the project's fields), listed once in [`Kinds::builtin`]. Adding a kind touches its
//! file and that list.

mod approval;
mod condition;
mod delay;
mod event;

/// The prefixes of the event types the service itself announces; a workflow may not emit them.
pub use event::RESERVED as SERVICE_EVENT_PREFIXES;
mod http;
mod noop;
mod project;
mod transform;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// What a kind is given to run one attempt of a step.
#[derive(Debug, Clone)]
pub struct StepCall {
    /// The step's `with`, templates rendered (a kind's expression fields left as written).
    pub with: serde_json::Map<String, serde_json::Value>,
    /// What templates see: `inputs`, `steps.<id>.output`, `execution`, `workflow`.
    pub context: serde_json::Value,
    /// What an earlier attempt of this step kept (a timer's deadline).
    pub state: Option<serde_json::Value>,
    /// This attempt's number, 1 for the first.
    pub attempt: i32,
    /// The same for every attempt of this step of this execution: what an outside call
    /// sends as its `Idempotency-Key`.
    pub idempotency_key: String,
    /// An id the same for every attempt of this step of this execution (UUID v7-shaped, at
    /// the execution's start): what a step creates exactly once is created under it.
    pub stable_id: uuid::Uuid,
    /// The execution's tenant.
    pub tenant: usvc_core::TenantId,
    /// Whom the step acts as: who started the execution or, for a triggered one, who saved
    /// the workflow version.
    pub actor: Option<usvc_core::UserId>,
    /// Now, by the engine's clock.
    pub now: DateTime<Utc>,
}

impl StepCall {
    /// A required string parameter.
    pub fn text(&self, field: &str) -> Result<&str, String> {
        self.with
            .get(field)
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| format!("`with.{field}` must be a string"))
    }
}

/// What kinds reach outside the engine through (ports, so kinds stay testable with mocks).
#[derive(Clone)]
pub struct StepEnv {
    /// Outbound HTTP under the egress policy.
    pub http: Arc<dyn usvc_core::ports::HttpClient>,
    /// Where `event` steps stage their events.
    pub events: Arc<dyn usvc_core::ports::Outbox>,
    /// What `project.*` steps do to projects.
    pub projects: Arc<dyn usvc_core::ports::ProjectActions>,
}

/// What an `approval` step asks of a person: the task the engine creates, in the same
/// transaction that parks the step.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRequest {
    /// The user who should answer.
    pub assignee_user: Option<usvc_core::UserId>,
    /// The tenant role whose holders may answer.
    pub assignee_role: Option<String>,
    /// What to decide.
    pub title: String,
    /// More words for the person.
    pub description: Option<String>,
    /// A JSON Schema the answer's `data` must match.
    pub form: Option<serde_json::Value>,
    /// When an answer is expected.
    pub due_at: Option<DateTime<Utc>>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// Done; the output is what dependents read as `steps.<id>.output`.
    Succeeded(serde_json::Value),
    /// Failed; retried per the step's `retry`, else the step fails.
    Failed(String),
    /// Not done yet: park the step until `until` (a durable timer), keeping `state` for the
    /// next attempt; `None` parks it until something outside (a person) resumes it.
    Park {
        /// When to run it again.
        until: Option<DateTime<Utc>>,
        /// What the next attempt is given as `state`.
        state: serde_json::Value,
    },
    /// Wait for a person: a task is created and the step waits, with no timer, until the
    /// task is completed (approve: the step succeeds with the answer's data; reject: it
    /// fails or takes its `on_reject` branch) or the execution is cancelled.
    Ask(TaskRequest),
}

/// One kind of step.
#[async_trait]
pub trait StepKind: Send + Sync {
    /// The name definitions use (`kind: transform`).
    fn name(&self) -> &'static str;

    /// `with` fields holding a bare expression instead of a template (rendered by the kind,
    /// not the engine).
    fn expression_fields(&self) -> &'static [&'static str] {
        &[]
    }

    /// `with` fields taken as written: neither templates nor expressions (a form's JSON
    /// Schema, a list of step ids).
    fn literal_fields(&self) -> &'static [&'static str] {
        &[]
    }

    /// Checks a step's `with` when the workflow is saved: required fields and the types of
    /// literal values. Errors are (field under `with`, message).
    fn check(&self, _with: &BTreeMap<String, serde_json::Value>) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Gating: whether `dependent` (a step depending on this one) may run now that this step
    /// ended as `ended` (succeeded, or skipped by its own `if`). `false` skips `dependent` and
    /// everything downstream of it (`skipped_because: condition`). Every dependent runs by
    /// default; a `condition` closes all of them when false, an `approval` the branch its
    /// answer did not take.
    fn lets_through(
        &self,
        _with: &BTreeMap<String, serde_json::Value>,
        _ended: &usvc_core::StepRun,
        _dependent: &str,
    ) -> bool {
        true
    }

    /// Step ids under `with` this step chooses between when it runs (an approval's
    /// `on_reject`); a save refuses any that is not a step depending on this one directly.
    fn branches<'w>(&self, _with: &'w BTreeMap<String, serde_json::Value>) -> Vec<&'w str> {
        Vec::new()
    }

    /// The event type a step of this kind emits, when written literally (a save refuses a
    /// workflow that would trigger itself with it).
    fn emits<'w>(&self, _with: &'w BTreeMap<String, serde_json::Value>) -> Option<&'w str> {
        None
    }

    /// Whether an attempt only computes its output from its [`StepCall`] (no effect outside
    /// the execution, nothing read but its context; running it twice gives the same). A
    /// worker runs such a step right after the recording that unlocked it and records both
    /// in one transaction instead of one each: nothing is lost if it dies first, since the
    /// step only runs again (ADR 0033).
    fn pure(&self) -> bool {
        false
    }

    /// Runs one attempt. A kind that needs a person returns [`StepOutcome::Ask`] (a human
    /// task); one that waits returns [`StepOutcome::Park`].
    async fn run(&self, call: StepCall, env: &StepEnv) -> StepOutcome;
}

/// The kinds an engine runs, by name.
#[derive(Clone)]
pub struct Kinds {
    by_name: BTreeMap<&'static str, Arc<dyn StepKind>>,
}

impl Kinds {
    /// The built-in kinds, made once: what definitions are checked against when saved and
    /// what the planner asks about gating.
    pub fn registry() -> &'static Self {
        static BUILTIN: std::sync::OnceLock<Kinds> = std::sync::OnceLock::new();
        BUILTIN.get_or_init(Self::builtin)
    }

    /// Every built-in kind. Adding a kind: a file beside this one implementing [`StepKind`],
    /// and one line here.
    pub fn builtin() -> Self {
        let kinds: [Arc<dyn StepKind>; 9] = [
            Arc::new(project::CreateProject),
            Arc::new(project::UpdateProject),
            Arc::new(approval::Approval),
            Arc::new(event::Event),
            Arc::new(noop::Noop),
            Arc::new(transform::Transform),
            Arc::new(condition::Condition),
            Arc::new(delay::Delay),
            Arc::new(http::Http),
        ];
        Self {
            by_name: kinds.into_iter().map(|k| (k.name(), k)).collect(),
        }
    }

    /// The kind called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn StepKind>> {
        self.by_name.get(name)
    }

    /// Every name, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        self.by_name.keys().copied().collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An environment whose ports must not be used.
    pub(crate) fn no_env() -> StepEnv {
        StepEnv {
            http: Arc::new(usvc_core::ports::MockHttpClient::new()),
            events: Arc::new(usvc_core::ports::MockOutbox::new()),
            projects: Arc::new(usvc_core::ports::MockProjectActions::new()),
        }
    }

    #[allow(clippy::needless_pass_by_value)] // tests pass json!(…) literals
    pub(crate) fn call(with: serde_json::Value, context: serde_json::Value) -> StepCall {
        StepCall {
            with: with.as_object().cloned().unwrap_or_default(),
            context,
            state: None,
            attempt: 1,
            idempotency_key: "e:s".into(),
            stable_id: uuid::Uuid::now_v7(),
            tenant: usvc_core::TenantId::new(),
            actor: None,
            now: Utc::now(),
        }
    }
}
