//! The human-task use cases: list the tasks waiting for me (or for my roles), read one, and
//! answer it. An answer goes through the execution's change transaction (`CompleteTask`),
//! so the task, its step, what the step unlocks and the audit row commit together, once.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use usvc_core::ports::{
    AuditLog, Authorizer, EventRelay, ExecutionRepository, TaskRepository, WorkSignal,
};
use usvc_core::{
    permissions, AuditEntry, CoreError, ExecutionId, Page, PageRequest, Principal, ResourceRef,
    Task, TaskAudience, TaskDecision, TaskId, TaskStatus,
};

use crate::engine::Engine;
use crate::executions::events;
use crate::plan::CompleteTask;
use crate::subject;

/// The ports [`TaskService`] needs.
pub struct TaskPorts {
    /// Reading tasks.
    pub tasks: Arc<dyn TaskRepository>,
    /// Executions, changed by an answer.
    pub executions: Arc<dyn ExecutionRepository>,
    /// Pinned definitions and the clock.
    pub engine: Arc<Engine>,
    /// Tenant roles.
    pub authorizer: Arc<dyn Authorizer>,
    /// Where refusals the authorizer does not decide (another person's task) are recorded.
    pub audit: Arc<dyn AuditLog>,
    /// Wakes the workers: an answer makes the steps after it ready.
    pub signal: Arc<dyn WorkSignal>,
    /// Woken after an answer, whose event the store staged in the outbox.
    pub relay: Arc<dyn EventRelay>,
}

/// Which tasks a listing shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskQuery {
    /// Only tasks of this status (`None`: every status).
    pub status: Option<TaskStatus>,
    /// Every task of the tenant, not only mine (`workflows:read`).
    pub everyone: bool,
}

/// The human-task use cases.
pub struct TaskService {
    ports: TaskPorts,
}

fn not_found() -> CoreError {
    CoreError::NotFound("task".into())
}

fn audience(principal: &Principal) -> TaskAudience {
    TaskAudience {
        user: principal.user,
        roles: principal.roles.clone(),
    }
}

impl TaskService {
    /// A service over `ports`.
    pub fn new(ports: TaskPorts) -> Self {
        Self { ports }
    }

    /// Whether the caller may see `task`: a task's title, description and form are rendered
    /// from its execution's inputs, so it is shown only to those who may read them
    /// ([`subject::may_see`]: a private project's events stay with its members).
    async fn may_see(
        &self,
        principal: &Principal,
        task: &Task,
        seen: &mut HashMap<ExecutionId, bool>,
    ) -> Result<bool, CoreError> {
        if let Some(known) = seen.get(&task.execution_id) {
            return Ok(*known);
        }
        let visible = match self
            .ports
            .executions
            .get(principal.tenant, task.execution_id)
            .await?
        {
            Some(state) => {
                subject::may_see(self.ports.authorizer.as_ref(), principal, &state.execution)
                    .await?
            }
            None => false,
        };
        seen.insert(task.execution_id, visible);
        Ok(visible)
    }

    /// Tasks for the caller or the caller's roles, newest first; with `everyone`, all the
    /// tenant's (`workflows:read`). Tasks about what the caller may not read are left out.
    pub async fn list(
        &self,
        principal: &Principal,
        query: TaskQuery,
        page: PageRequest,
    ) -> Result<Page<Task>, CoreError> {
        let audience = if query.everyone {
            self.authorize(principal, &permissions::WORKFLOWS_READ)
                .await?;
            None
        } else {
            Some(audience(principal))
        };
        let mut page = self
            .ports
            .tasks
            .list(principal.tenant, audience, query.status, page)
            .await?;
        let mut seen = HashMap::new();
        let mut kept = Vec::with_capacity(page.items.len());
        for task in std::mem::take(&mut page.items) {
            if self.may_see(principal, &task, &mut seen).await? {
                kept.push(task);
            }
        }
        page.items = kept;
        Ok(page)
    }

    /// One task: the caller's own (or their role's), or any with `workflows:read`; never one
    /// about what the caller may not read. Another tenant's id is unknown.
    pub async fn get(&self, principal: &Principal, id: TaskId) -> Result<Task, CoreError> {
        let task = self
            .ports
            .tasks
            .get(principal.tenant, id)
            .await?
            .ok_or_else(not_found)?;
        if !task.is_for(principal.user, &principal.roles) {
            self.authorize(principal, &permissions::WORKFLOWS_READ)
                .await
                .map_err(|e| match e {
                    CoreError::Forbidden(_) => not_found(),
                    other => other,
                })?;
        }
        // About what the caller may not read: not found, and the refusal audited.
        let visible = match self
            .ports
            .executions
            .get(principal.tenant, task.execution_id)
            .await?
        {
            Some(state) => {
                subject::may_open(self.ports.authorizer.as_ref(), principal, &state.execution)
                    .await?
            }
            None => false,
        };
        if !visible {
            return Err(not_found());
        }
        Ok(task)
    }

    /// Answers a task (`tasks:complete`, and the task must be the caller's or their role's):
    /// `data` (a JSON object, `{}` if absent) is checked against the task's form, then the
    /// step succeeds with it (approve), or fails or takes its `on_reject` branch (reject).
    /// A task answered or cancelled meanwhile is a `Conflict`, and nothing changes.
    pub async fn complete(
        &self,
        principal: &Principal,
        id: TaskId,
        decision: TaskDecision,
        data: serde_json::Value,
    ) -> Result<Task, CoreError> {
        let task = self.get(principal, id).await?;
        if !task.is_for(principal.user, &principal.roles) {
            let reason = match &task.assignee_role {
                Some(role) => format!("the task is for holders of the role `{role}`"),
                None => "the task is assigned to another user".into(),
            };
            // Refused like any other guard: on the audit trail.
            let entry = AuditEntry::denied(
                principal,
                &permissions::TASKS_COMPLETE,
                &ResourceRef::one("task", id),
                &reason,
                self.ports.engine.now(),
            );
            self.ports.audit.append(entry).await?;
            return Err(CoreError::Forbidden(reason));
        }
        self.authorize(principal, &permissions::TASKS_COMPLETE)
            .await?;
        if task.status != TaskStatus::Open {
            return Err(CoreError::Conflict(format!(
                "the task is already {}",
                task.status
            )));
        }
        let data = match data {
            serde_json::Value::Null => json!({}),
            serde_json::Value::Object(_) => data,
            _ => return Err(CoreError::invalid("data", "must be a JSON object")),
        };
        if let Some(form) = &task.form {
            crate::schema::check(form, &data, "data")?;
        }
        let execution = self
            .ports
            .executions
            .get(principal.tenant, task.execution_id)
            .await?
            .ok_or_else(not_found)?;
        let definition = self
            .ports
            .engine
            .definition(
                principal.tenant,
                task.workflow_id,
                execution.execution.version,
            )
            .await?;
        let now = self.ports.engine.now();
        let audit = AuditEntry::by(principal, events::TASK_COMPLETED, now)
            .on(ResourceRef::one("task", id))
            .details(json!({
                "decision": decision,
                "execution_id": task.execution_id,
                "workflow_id": task.workflow_id,
                "step_id": task.step_id,
            }));
        let change = CompleteTask {
            definition,
            task_id: id,
            decision,
            data,
            by: principal.user,
        };
        let after = self
            .ports
            .executions
            .change(
                principal.tenant,
                task.execution_id,
                Arc::new(change),
                Some(audit),
                now,
            )
            .await?
            .ok_or_else(not_found)?;
        self.ports.signal.wake();
        self.ports.relay.wake();
        after
            .tasks
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(not_found)
    }

    async fn authorize(
        &self,
        principal: &Principal,
        action: &usvc_core::Action,
    ) -> Result<(), CoreError> {
        self.ports
            .authorizer
            .authorize(principal, action, &ResourceRef::any("workflow"))
            .await
    }
}
