//! `/api/v1/workflows`: definitions (JSON or YAML), their versions, pause and resume.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use usvc_core::{Cursor, PageRequest, Workflow, WorkflowId, WorkflowStatus, WorkflowVersion};
use utoipa::{IntoParams, ToSchema};

use crate::http::authenticated::Authenticated;
use crate::http::executions::ExecutionView;
use crate::http::problem::{path_id, ApiError, Problem};
use crate::http::projects::if_match;
use crate::http::state::AppState;

/// A workflow at its current version.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowView {
    /// Stable id across versions.
    pub id: String,
    /// The current version's name.
    pub name: String,
    /// `active` (starts executions) or `paused`.
    pub status: &'static str,
    /// The current version (the `ETag`).
    pub version: i64,
    /// The current version's definition, with defaults filled in.
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    /// Who created the workflow.
    pub created_by: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last save, pause or resume.
    pub updated_at: DateTime<Utc>,
    /// Its executions by outcome (`GET` of one workflow only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executions: Option<ExecutionCounts>,
    /// Its latest execution, without steps (`GET` of one workflow only; `null` if none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_execution: Option<Option<ExecutionView>>,
}

/// A workflow's executions by outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionCounts {
    /// Pending, running or waiting.
    pub running: u64,
    /// Ended well.
    pub succeeded: u64,
    /// Ended failed.
    pub failed: u64,
    /// Cancelled.
    pub cancelled: u64,
}

impl From<Workflow> for WorkflowView {
    fn from(w: Workflow) -> Self {
        Self {
            id: w.id.to_string(),
            name: w.name,
            status: w.status.as_str(),
            version: w.version,
            definition: w.definition,
            created_by: w.created_by.map(|u| u.to_string()),
            created_at: w.created_at,
            updated_at: w.updated_at,
            executions: None,
            last_execution: None,
        }
    }
}

/// One saved version.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionView {
    /// Its number (1 for the first save).
    pub version: i64,
    /// The definition as saved.
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    /// Who saved it.
    pub created_by: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<WorkflowVersion> for VersionView {
    fn from(v: WorkflowVersion) -> Self {
        Self {
            version: v.version,
            definition: v.definition,
            created_by: v.created_by.map(|u| u.to_string()),
            created_at: v.created_at,
        }
    }
}

/// A page of workflows.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowPage {
    /// Oldest first.
    pub items: Vec<WorkflowView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// A page of versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionPage {
    /// Newest first.
    pub items: Vec<VersionView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    fn page(self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::new(
            self.limit,
            self.cursor.map(Cursor::from_wire),
        )?)
    }
}

fn with_etag(mut response: actix_web::HttpResponseBuilder, workflow: Workflow) -> HttpResponse {
    response
        .insert_header((header::ETAG, format!("\"{}\"", workflow.version)))
        .json(WorkflowView::from(workflow))
}

/// Saves a new workflow (`workflows:write`) as version 1. The body is the definition (see
/// docs/workflows.md), as JSON or YAML; every problem with it is reported with its field.
#[utoipa::path(post, path = "/api/v1/workflows", tag = "workflows",
    request_body(content = Object, description = "The definition", content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 201, body = WorkflowView),
        (status = 400, description = "Not a valid definition; `errors` names each field", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let document = match super::document::parse(&req, &body) {
        Ok(d) => d,
        Err(problem) => return Ok(problem.response()),
    };
    let workflow = state.workflows.create(&caller.0, document).await?;
    let mut response = HttpResponse::Created();
    response.insert_header((
        header::LOCATION,
        format!("/api/v1/workflows/{}", workflow.id),
    ));
    Ok(with_etag(response, workflow))
}

/// The tenant's workflows, oldest first (`workflows:read`).
#[utoipa::path(get, path = "/api/v1/workflows", tag = "workflows", params(PageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = WorkflowPage)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .workflows
        .list(&caller.0, query.into_inner().page()?)
        .await?;
    Ok(HttpResponse::Ok().json(WorkflowPage {
        items: page.items.into_iter().map(WorkflowView::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.as_str().to_owned()),
    }))
}

/// One workflow at its current version, with the version as `ETag` (`workflows:read`).
#[utoipa::path(get, path = "/api/v1/workflows/{workflow_id}", tag = "workflows",
    params(("workflow_id" = String, Path, description = "Workflow id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = WorkflowView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<WorkflowId>(&path, "workflow")?;
    let workflow = state.workflows.get(&caller.0, id).await?;
    let summary = state.executions.summary(&caller.0, id).await?;
    let version = workflow.version;
    let mut view = WorkflowView::from(workflow);
    view.executions = Some(ExecutionCounts {
        running: summary.running,
        succeeded: summary.succeeded,
        failed: summary.failed,
        cancelled: summary.cancelled,
    });
    view.last_execution = Some(summary.last.map(ExecutionView::from));
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, format!("\"{version}\"")))
        .json(view))
}

/// Saves a new version of a workflow (`workflows:write`); executions already started keep
/// their version. With `If-Match`, a workflow saved meanwhile is a `412`.
#[utoipa::path(put, path = "/api/v1/workflows/{workflow_id}", tag = "workflows",
    params(("workflow_id" = String, Path, description = "Workflow id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body(content = Object, description = "The definition", content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, body = WorkflowView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replace(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<WorkflowId>(&path, "workflow")?;
    let expected = if_match(&req)?;
    let document = match super::document::parse(&req, &body) {
        Ok(d) => d,
        Err(problem) => return Ok(problem.response()),
    };
    let workflow = state
        .workflows
        .update(&caller.0, id, expected, document)
        .await?;
    Ok(with_etag(HttpResponse::Ok(), workflow))
}

/// Deletes a workflow (`workflows:write`): it starts nothing more; its versions stay for the
/// executions that ran them.
#[utoipa::path(delete, path = "/api/v1/workflows/{workflow_id}", tag = "workflows",
    params(("workflow_id" = String, Path, description = "Workflow id")),
    security(("bearer" = [])),
    responses(
        (status = 204),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<WorkflowId>(&path, "workflow")?;
    state.workflows.delete(&caller.0, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn set_status(
    state: &AppState,
    caller: &Authenticated,
    path: &str,
    status: WorkflowStatus,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<WorkflowId>(path, "workflow")?;
    let workflow = state.workflows.set_status(&caller.0, id, status).await?;
    Ok(with_etag(HttpResponse::Ok(), workflow))
}

/// Pauses a workflow (`workflows:write`): no new executions start, by any trigger, until it
/// is resumed; running ones go on.
#[utoipa::path(post, path = "/api/v1/workflows/{workflow_id}/pause", tag = "workflows",
    params(("workflow_id" = String, Path, description = "Workflow id")),
    security(("bearer" = [])),
    responses((status = 200, body = WorkflowView)))]
pub async fn pause(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_status(&state, &caller, &path, WorkflowStatus::Paused).await
}

/// Resumes a paused workflow (`workflows:write`).
#[utoipa::path(post, path = "/api/v1/workflows/{workflow_id}/resume", tag = "workflows",
    params(("workflow_id" = String, Path, description = "Workflow id")),
    security(("bearer" = [])),
    responses((status = 200, body = WorkflowView)))]
pub async fn resume(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_status(&state, &caller, &path, WorkflowStatus::Active).await
}

/// A workflow's saved versions, newest first (`workflows:read`).
#[utoipa::path(get, path = "/api/v1/workflows/{workflow_id}/versions", tag = "workflows",
    params(("workflow_id" = String, Path, description = "Workflow id"), PageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = VersionPage)))]
pub async fn versions(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<WorkflowId>(&path, "workflow")?;
    let page = state
        .workflows
        .versions(&caller.0, id, query.into_inner().page()?)
        .await?;
    Ok(HttpResponse::Ok().json(VersionPage {
        items: page.items.into_iter().map(VersionView::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.as_str().to_owned()),
    }))
}

/// One saved version (`workflows:read`).
#[utoipa::path(get, path = "/api/v1/workflows/{workflow_id}/versions/{version}", tag = "workflows",
    params(("workflow_id" = String, Path, description = "Workflow id"),
        ("version" = i64, Path, description = "Version number")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = VersionView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn version(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, n) = path.into_inner();
    let id = path_id::<WorkflowId>(&id, "workflow")?;
    let n = path_id::<i64>(&n, "workflow version")?;
    let version = state.workflows.version(&caller.0, id, n).await?;
    Ok(HttpResponse::Ok().json(VersionView::from(version)))
}
