//! `/api/v1/projects/{id}/versions`: a project's history, diffs between versions, and
//! restore (as a new version).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use usvc_core::{CoreError, Cursor, PageRequest, ProjectId, ProjectVersion};
use usvc_project::FieldChange;
use utoipa::{IntoParams, ToSchema};

use crate::http::authenticated::Authenticated;
use crate::http::problem::{path_id, ApiError, Problem};
use crate::http::projects::{if_match, with_etag, ProjectView};
use crate::http::state::AppState;
use usvc_core::Project;

/// One version of a project: the whole project as it was, what changed, who, when.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ProjectVersionView)]
pub struct VersionView {
    /// 1 for the creation, one more for every change.
    pub version: i64,
    /// The project as it was after this change.
    #[schema(value_type = ProjectView)]
    pub snapshot: Project,
    /// The fields this change set (`["created"]` for version 1).
    pub changed: Vec<String>,
    /// Who made it (absent for system changes).
    pub actor_id: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

impl From<ProjectVersion> for VersionView {
    fn from(v: ProjectVersion) -> Self {
        Self {
            version: v.version,
            snapshot: v.snapshot,
            changed: v.changed,
            actor_id: v.actor.map(|a| a.to_string()),
            at: v.at,
        }
    }
}

/// A page of history.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ProjectVersionPage)]
pub struct VersionPage {
    /// Newest first.
    pub items: Vec<VersionView>,
    /// Pass as `cursor` for the next (older) page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Paging of the history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VersionQuery {
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The other side of a diff.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    /// The version to compare with (usually an older one).
    #[param(minimum = 1)]
    pub against: i64,
}

/// One field that differs.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldChangeView {
    /// The field, as the project view names it.
    pub field: String,
    /// Its value in `against` (any JSON: text, a list, an object, `null`).
    #[schema(value_type = Value)]
    pub from: serde_json::Value,
    /// Its value in the version asked about (any JSON).
    #[schema(value_type = Value)]
    pub to: serde_json::Value,
}

/// What changed between two versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiffView {
    /// The version asked about.
    pub version: i64,
    /// The version compared with.
    pub against: i64,
    /// The fields that differ, by name.
    pub changes: Vec<FieldChangeView>,
}

impl From<FieldChange> for FieldChangeView {
    fn from(c: FieldChange) -> Self {
        Self {
            field: c.field,
            from: c.from,
            to: c.to,
        }
    }
}

fn version_number(raw: &str) -> Result<i64, CoreError> {
    raw.parse::<i64>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| CoreError::invalid("version", "must be a version number (1, 2, …)"))
}

fn project_and_version(path: &(String, String)) -> Result<(ProjectId, i64), ApiError> {
    Ok((
        path_id::<ProjectId>(&path.0, "project")?,
        version_number(&path.1)?,
    ))
}

/// The project's history, newest first (`projects:read` on it).
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/versions", tag = "projects",
    params(("project_id" = String, Path, description = "Project id"), VersionQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = VersionPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<VersionQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = PageRequest::new(q.limit, q.cursor.map(Cursor::from_wire))?;
    let page = state
        .projects
        .versions(&caller.0, path_id::<ProjectId>(&path, "project")?, page)
        .await?;
    Ok(HttpResponse::Ok().json(VersionPage {
        items: page.items.into_iter().map(VersionView::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.as_str().to_owned()),
    }))
}

/// One version (`projects:read` on the project).
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/versions/{version}", tag = "projects",
    params(("project_id" = String, Path, description = "Project id"),
        ("version" = i64, Path, minimum = 1, description = "Version number (1, 2, …)")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = VersionView),
        (status = 400, description = "Not a version number", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, version) = project_and_version(&path)?;
    let found = state.projects.version(&caller.0, id, version).await?;
    Ok(HttpResponse::Ok().json(VersionView::from(found)))
}

/// What changed from version `against` to version `version`, field by field.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/versions/{version}/diff", tag = "projects",
    params(("project_id" = String, Path, description = "Project id"),
        ("version" = i64, Path, minimum = 1, description = "Version number (1, 2, …)"), DiffQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DiffView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn diff(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    query: web::Query<DiffQuery>,
) -> Result<HttpResponse, ApiError> {
    let (id, version) = project_and_version(&path)?;
    let against = version_number(&query.against.to_string())
        .map_err(|_| CoreError::invalid("against", "must be a version number (1, 2, …)"))?;
    let changes = state.projects.diff(&caller.0, id, version, against).await?;
    Ok(HttpResponse::Ok().json(DiffView {
        version,
        against,
        changes: changes.into_iter().map(FieldChangeView::from).collect(),
    }))
}

/// Sets the project's fields back to those of `version`, as a new version (`projects:write`
/// on it); honours `If-Match`.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/versions/{version}/restore", tag = "projects",
    params(("project_id" = String, Path, description = "Project id"),
        ("version" = i64, Path, minimum = 1, description = "Version number (1, 2, …)")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProjectView),
        (status = 400, description = "Not a version number", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived, or the old name is taken now", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn restore(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, version) = project_and_version(&path)?;
    let project = state
        .projects
        .restore(&caller.0, id, version, if_match(&req)?)
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &project))
}
