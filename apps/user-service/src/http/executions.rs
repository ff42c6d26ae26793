//! Workflow executions: start (optionally waiting for the end), read, list, cancel, retry,
//! timeline.

use super::{body, valid};
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use usvc_core::{
    CoreError, Cursor, Execution, ExecutionId, ExecutionState, PageRequest, StepRun, TimelineEntry,
    WorkflowId,
};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use crate::http::authenticated::Authenticated;
use crate::http::problem::{path_id, ApiError, Problem};
use crate::http::projects::idempotency_key;
use crate::http::state::AppState;

/// The longest `?wait=` a start may ask for, in seconds.
pub const MAX_WAIT_SECS: u64 = 30;
/// When a waiting start first looks at an execution that may end on another replica (or be
/// cancelled); each look after waits twice as long, up to [`WAIT_POLL_MAX`]. Ends in this
/// process need no look at all, so under load the looks were most of a run's reads (a look
/// every 250 ms cost three or four per execution at 64 connections: issue 17).
const WAIT_POLL: Duration = Duration::from_millis(250);
/// The longest wait between two looks.
const WAIT_POLL_MAX: Duration = Duration::from_secs(1);

/// One step of an execution.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepView {
    /// The step's id in the definition.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// `pending`, `ready`, `running`, `waiting`, `succeeded`, `failed`, `skipped` or
    /// `cancelled`.
    pub status: &'static str,
    /// Attempts started.
    pub attempts: i32,
    /// What it produced.
    #[schema(value_type = Option<Object>)]
    pub output: Option<serde_json::Value>,
    /// Why its last attempt failed.
    pub error: Option<String>,
    /// Why it was skipped: `if`, `condition` or `failure`.
    pub skipped_because: Option<String>,
    /// The human task of an `approval` step (`GET /api/v1/tasks/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// When its first attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<StepRun> for StepView {
    fn from(s: StepRun) -> Self {
        Self {
            id: s.step_id,
            kind: s.kind,
            status: s.status.as_str(),
            attempts: s.attempts,
            output: s.output,
            error: s.error,
            skipped_because: s.skip,
            task_id: s
                .state
                .as_ref()
                .and_then(|st| st.get("task_id"))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
            started_at: s.started_at,
            finished_at: s.finished_at,
        }
    }
}

/// An execution.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionView {
    /// Its id.
    pub execution_id: String,
    /// The workflow.
    pub workflow_id: String,
    /// The version it runs.
    pub version: i64,
    /// `pending`, `running`, `waiting`, `succeeded`, `failed` or `cancelled`.
    pub status: &'static str,
    /// What it was started with.
    #[schema(value_type = Object)]
    pub inputs: serde_json::Value,
    /// The outputs of its final steps, by step id, once it succeeded.
    #[schema(value_type = Option<Object>)]
    pub output: Option<serde_json::Value>,
    /// Why it failed.
    pub error: Option<String>,
    /// `manual`, `event` or `schedule`.
    pub trigger: String,
    /// Waiting for a slot under the workflow's `concurrency` limit (status `pending`).
    pub queued: bool,
    /// When it times out, under the workflow's `timeout`.
    pub deadline: Option<DateTime<Utc>>,
    /// Who started it, or last retried it: the person its steps act as. `null` for a
    /// triggered run not retried, whose steps act as the workflow version's saver.
    pub started_by: Option<String>,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When its first step ran.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// From start to end, once it ended.
    pub duration_ms: Option<i64>,
    /// Its steps, in definition order (absent in listings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<StepView>>,
}

impl From<Execution> for ExecutionView {
    fn from(e: Execution) -> Self {
        Self {
            execution_id: e.id.to_string(),
            workflow_id: e.workflow_id.to_string(),
            version: e.version,
            status: e.status.as_str(),
            inputs: e.inputs,
            output: e.output,
            error: e.error,
            trigger: e.trigger,
            queued: e.queued,
            deadline: e.deadline,
            started_by: e.started_by.map(|u| u.to_string()),
            created_at: e.created_at,
            started_at: e.started_at,
            duration_ms: e.finished_at.map(|f| (f - e.created_at).num_milliseconds()),
            finished_at: e.finished_at,
            steps: None,
        }
    }
}

impl From<ExecutionState> for ExecutionView {
    fn from(state: ExecutionState) -> Self {
        Self {
            steps: Some(state.steps.into_iter().map(StepView::from).collect()),
            ..Self::from(state.execution)
        }
    }
}

/// How to start an execution.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartExecution {
    /// The inputs, a JSON object (templates read it as `inputs`).
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub inputs: serde_json::Value,
}

/// `?wait=`.
#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WaitQuery {
    /// Seconds to wait for the execution to end (0-30); without it the answer is at once.
    #[param(minimum = 0, maximum = 30)]
    #[validate(range(max = MAX_WAIT_SECS, message = "must be 0-30 seconds"))]
    pub wait: Option<u64>,
}

/// Starts an execution of the workflow's current version (`workflows:execute`). Answers
/// `202` with the execution at once or, with `?wait=`, `200` when it ends within that many
/// seconds and `202` when it has not. With `Idempotency-Key`, a repeat starts nothing and
/// answers the first execution (`Idempotent-Replayed: true`).
#[utoipa::path(post, path = "/api/v1/workflows/{workflow_id}/executions", tag = "workflows",
    params(("workflow_id" = String, Path, description = "Workflow id"), WaitQuery,
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[\\x21-\\x7e]{1,255}$", description = "1-255 visible ASCII characters")),
    request_body = StartExecution,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "It ended within the wait", body = ExecutionView),
        (status = 202, description = "Started (or still running after the wait)", body = ExecutionView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The workflow is paused", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn start(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<WaitQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let workflow = path_id::<WorkflowId>(&path, "workflow")?;
    valid::check(&*query)?;
    let wait = Duration::from_secs(query.wait.unwrap_or(0));
    let body: StartExecution = if body.iter().all(u8::is_ascii_whitespace) {
        StartExecution::default()
    } else {
        serde_json::from_slice::<body::Object<StartExecution>>(&body)
            .map_err(|e| CoreError::invalid("body", format!("is not a valid start request: {e}")))?
            .0
    };
    let key = idempotency_key(&req, &body)?;
    // Subscribe before starting, so an end that comes first is not missed.
    let mut ended = state.worker.ended();
    let (mut current, replayed) = state
        .executions
        .start(&caller.0, workflow, body.inputs, key)
        .await?;
    let id = current.execution.id;
    if !wait.is_zero() && !current.execution.status.is_final() {
        let deadline = tokio::time::Instant::now() + wait;
        // Ends in this process arrive on `ended`; the poll catches other replicas' and cancels.
        let (mut every, mut look) = (WAIT_POLL, tokio::time::Instant::now() + WAIT_POLL);
        loop {
            tokio::select! {
                got = ended.recv() => match got {
                    // Ended here: answered as it ended, without reading it again.
                    Ok(done) if done.execution.id == id => {
                        current = state.executions.as_seen_by(&caller.0, (*done).clone()).await?;
                        break;
                    }
                    Ok(_) => continue,
                    Err(RecvError::Closed) => tokio::time::sleep(WAIT_POLL).await,
                    Err(RecvError::Lagged(_)) => {}
                },
                () = tokio::time::sleep_until(look) => {
                    every = (every * 2).min(WAIT_POLL_MAX);
                    look = tokio::time::Instant::now() + every;
                }
                () = tokio::time::sleep_until(deadline) => {}
            }
            current = state.executions.get(&caller.0, id).await?;
            if current.execution.status.is_final() || tokio::time::Instant::now() >= deadline {
                break;
            }
        }
    }
    let mut response = if current.execution.status.is_final() && !wait.is_zero() {
        HttpResponse::Ok()
    } else {
        HttpResponse::Accepted()
    };
    response.insert_header((header::LOCATION, format!("/api/v1/executions/{id}")));
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(response.json(ExecutionView::from(current)))
}

/// Listing filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExecutionQuery {
    /// Only executions in this status.
    #[param(pattern = "^(pending|running|waiting|succeeded|failed|cancelled)$")]
    pub status: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of executions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionPage {
    /// Newest first, without their steps.
    pub items: Vec<ExecutionView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// A workflow's executions, newest first (`workflows:read`).
#[utoipa::path(get, path = "/api/v1/workflows/{workflow_id}/executions", tag = "workflows",
    params(("workflow_id" = String, Path, description = "Workflow id"), ExecutionQuery),
    security(("bearer" = [])),
    responses((status = 200, body = ExecutionPage)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<ExecutionQuery>,
) -> Result<HttpResponse, ApiError> {
    let workflow = path_id::<WorkflowId>(&path, "workflow")?;
    let q = query.into_inner();
    let status = q.status.as_deref().map(str::parse).transpose()?;
    let page = PageRequest::new(q.limit, q.cursor.map(Cursor::from_wire))?;
    let page = state
        .executions
        .list(&caller.0, workflow, status, page)
        .await?;
    Ok(HttpResponse::Ok().json(ExecutionPage {
        items: page.items.into_iter().map(ExecutionView::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.as_str().to_owned()),
    }))
}

/// One execution with its steps (`workflows:read`).
#[utoipa::path(get, path = "/api/v1/executions/{execution_id}", tag = "workflows",
    params(("execution_id" = String, Path, description = "Execution id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ExecutionView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<ExecutionId>(&path, "execution")?;
    let execution = state.executions.get(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(ExecutionView::from(execution)))
}

/// Cancels a running execution (`workflows:execute`); one that ended is a `409`.
#[utoipa::path(post, path = "/api/v1/executions/{execution_id}/cancel", tag = "workflows",
    params(("execution_id" = String, Path, description = "Execution id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ExecutionView),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<ExecutionId>(&path, "execution")?;
    let execution = state.executions.cancel(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(ExecutionView::from(execution)))
}

/// Retries a failed execution from where it failed (`workflows:execute`): failed steps and
/// those skipped or cancelled because of them run again; succeeded steps keep their output.
#[utoipa::path(post, path = "/api/v1/executions/{execution_id}/retry", tag = "workflows",
    params(("execution_id" = String, Path, description = "Execution id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ExecutionView),
        (status = 409, description = "Not a failed execution", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retry(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<ExecutionId>(&path, "execution")?;
    let execution = state.executions.retry(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(ExecutionView::from(execution)))
}

/// One state change.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineView {
    /// When.
    pub at: DateTime<Utc>,
    /// The step, or `null` for the execution.
    pub step_id: Option<String>,
    /// The status entered.
    pub status: String,
    /// The step's attempt.
    pub attempt: Option<i32>,
    /// An error or a reason.
    pub detail: Option<String>,
}

impl From<TimelineEntry> for TimelineView {
    fn from(t: TimelineEntry) -> Self {
        Self {
            at: t.at,
            step_id: t.step_id,
            status: t.status,
            attempt: t.attempt,
            detail: t.detail,
        }
    }
}

/// Every state change of an execution and its steps, in order (`workflows:read`).
#[utoipa::path(get, path = "/api/v1/executions/{execution_id}/timeline", tag = "workflows",
    params(("execution_id" = String, Path, description = "Execution id")),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<TimelineView>)))]
pub async fn timeline(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<ExecutionId>(&path, "execution")?;
    let entries = state.executions.timeline(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(
        entries
            .into_iter()
            .map(TimelineView::from)
            .collect::<Vec<_>>(),
    ))
}
