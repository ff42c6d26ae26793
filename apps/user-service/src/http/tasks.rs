//! Human tasks: the approvals waiting for me or my roles, one task, and the answer.

use super::body;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use usvc_core::{CoreError, Cursor, PageRequest, Task, TaskDecision, TaskId, TaskStatus};
use usvc_workflow::TaskQuery;
use utoipa::{IntoParams, ToSchema};

use crate::http::authenticated::Authenticated;
use crate::http::problem::{path_id, ApiError, Problem};
use crate::http::state::AppState;

/// A human task.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    /// Its id.
    pub id: String,
    /// The execution waiting on it.
    pub execution_id: String,
    /// The approval step.
    pub step_id: String,
    /// The workflow.
    pub workflow_id: String,
    /// `open`, `approved`, `rejected` or `cancelled`.
    pub status: &'static str,
    /// The user who should answer.
    pub assignee: Option<String>,
    /// The role whose holders may answer.
    pub assignee_role: Option<String>,
    /// What to decide.
    pub title: String,
    /// More words.
    pub description: Option<String>,
    /// The JSON Schema the answer's `data` must match.
    #[schema(value_type = Option<Object>)]
    pub form: Option<serde_json::Value>,
    /// When an answer is expected.
    pub due_at: Option<DateTime<Utc>>,
    /// Open past its due date.
    pub overdue: bool,
    /// The answer's data.
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
    /// Who answered.
    pub completed_by: Option<String>,
    /// When it was answered or cancelled.
    pub completed_at: Option<DateTime<Utc>>,
    /// When the step asked.
    pub created_at: DateTime<Utc>,
}

impl TaskView {
    fn of(t: Task, now: DateTime<Utc>) -> Self {
        Self {
            id: t.id.to_string(),
            execution_id: t.execution_id.to_string(),
            step_id: t.step_id.clone(),
            workflow_id: t.workflow_id.to_string(),
            status: t.status.as_str(),
            overdue: t.overdue(now),
            assignee: t.assignee_user.map(|u| u.to_string()),
            assignee_role: t.assignee_role,
            title: t.title,
            description: t.description,
            form: t.form,
            due_at: t.due_at,
            data: t.data,
            completed_by: t.completed_by.map(|u| u.to_string()),
            completed_at: t.completed_at,
            created_at: t.created_at,
        }
    }
}

/// Listing filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TaskListQuery {
    /// `open` (the default), `approved`, `rejected`, `cancelled` or `all`.
    #[param(pattern = "^(open|approved|rejected|cancelled|all)$")]
    pub status: Option<String>,
    /// `me` (the default: tasks for me or my roles) or `all` (every task of the tenant;
    /// `workflows:read`).
    #[param(pattern = "^(me|all)$")]
    pub assignee: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of tasks.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskPage {
    /// Newest first.
    pub items: Vec<TaskView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// The caller's tasks (assigned to them or to one of their roles), newest first; open ones
/// unless `?status=` says otherwise.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "workflows",
    params(TaskListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TaskPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<TaskListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let status = match q.status.as_deref() {
        None => Some(TaskStatus::Open),
        Some("all") => None,
        Some(s) => Some(s.parse::<TaskStatus>()?),
    };
    let everyone = match q.assignee.as_deref() {
        None | Some("me") => false,
        Some("all") => true,
        Some(_) => return Err(CoreError::invalid("assignee", "must be `me` or `all`").into()),
    };
    let page = PageRequest::new(q.limit, q.cursor.map(Cursor::from_wire))?;
    let page = state
        .tasks
        .list(&caller.0, TaskQuery { status, everyone }, page)
        .await?;
    let now = state.clock.now();
    Ok(HttpResponse::Ok().json(TaskPage {
        items: page
            .items
            .into_iter()
            .map(|t| TaskView::of(t, now))
            .collect(),
        next_cursor: page.next_cursor.map(|c| c.as_str().to_owned()),
    }))
}

/// One task: the caller's own, or any with `workflows:read`.
#[utoipa::path(get, path = "/api/v1/tasks/{task_id}", tag = "workflows",
    params(("task_id" = String, Path, description = "Task id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TaskView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<TaskId>(&path, "task")?;
    let task = state.tasks.get(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(TaskView::of(task, state.clock.now())))
}

/// The answer to a task.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteTask {
    /// `approve` or `reject`.
    #[schema(value_type = String, pattern = "^(approve|reject)$")]
    pub decision: TaskDecision,
    /// What the form asks for (a JSON object); the step's output on approve.
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub data: serde_json::Value,
}

/// Answers a task (`tasks:complete`; the task must be the caller's or their role's). `data`
/// must match the task's form. Approve: the step succeeds with `data` as its output; reject:
/// it fails, or its `on_reject` branch runs. A task already answered or cancelled is a `409`.
#[utoipa::path(post, path = "/api/v1/tasks/{task_id}/complete", tag = "workflows",
    params(("task_id" = String, Path, description = "Task id")),
    request_body = CompleteTask,
    security(("bearer" = [])),
    responses(
        (status = 200, body = TaskView),
        (status = 400, description = "`data` does not match the form", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the assignee", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered or cancelled", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn complete(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<TaskId>(&path, "task")?;
    let body: CompleteTask = serde_json::from_slice::<body::Object<CompleteTask>>(&body)
        .map(|o| o.0)
        .map_err(|e| {
            CoreError::invalid(
                "body",
                format!("must be {{\"decision\": \"approve\" | \"reject\", \"data\": {{…}}}}: {e}"),
            )
        })?;
    let task = state
        .tasks
        .complete(&caller.0, id, body.decision, body.data)
        .await?;
    Ok(HttpResponse::Ok().json(TaskView::of(task, state.clock.now())))
}
