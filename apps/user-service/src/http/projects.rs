//! `/api/v1/projects`: projects with `ETag` / `If-Match` on their version.

use super::body;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use usvc_core::{
    CoreError, Cursor, IdempotencyKey, PageRequest, Project, ProjectFields, ProjectFilter,
    ProjectId, UserId,
};
use utoipa::{IntoParams, ToSchema};

use crate::http::authenticated::Authenticated;
use crate::http::problem::{path_id, ApiError, Problem};
pub use crate::http::project_schemas::{
    CreateProject, ProjectChange, ProjectReplacement, ProjectView,
};
use crate::http::state::AppState;

/// The answer for one project: its view with its version as the `ETag`.
pub(crate) fn with_etag(
    mut response: actix_web::HttpResponseBuilder,
    project: &Project,
) -> HttpResponse {
    response
        .insert_header((header::ETAG, format!("\"{}\"", project.version)))
        .json(project)
}

/// The version an `If-Match` header demands: `None` without the header or with `*`.
pub(crate) fn if_match(req: &HttpRequest) -> Result<Option<i64>, CoreError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or_default().trim();
    if value == "*" {
        return Ok(None);
    }
    value
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse::<i64>()
        .map(Some)
        .map_err(|_| CoreError::invalid("If-Match", "must be an ETag this API returned (\"3\")"))
}

/// The `Idempotency-Key` of a request, with the fingerprint of its body.
pub(crate) fn idempotency_key<T: Serialize>(
    req: &HttpRequest,
    body: &T,
) -> Result<Option<IdempotencyKey>, CoreError> {
    let Some(value) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| CoreError::invalid("Idempotency-Key", "must be visible ASCII characters"))?;
    IdempotencyKey::for_request(key, body).map(Some)
}

/// Creates a project owned by the caller (`projects:create`). With an `Idempotency-Key`
/// header, a repeat of the request within 24 hours answers the project the first one created
/// (with `Idempotent-Replayed: true`) instead of creating another; the same key with a
/// different body is a `400`.
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = CreateProject,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[\\x21-\\x7e]{1,255}$", description = "1-255 visible ASCII characters, e.g. a UUID")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = ProjectView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    body: body::Json<ProjectFields>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req, &body.fingerprint())?;
    let fields = body.into_inner();
    let (project, replayed) = state.projects.create_once(&caller.0, fields, key).await?;
    let location = format!("/api/v1/projects/{}", project.id);
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, location));
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(with_etag(response, &project))
}

/// Listing filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProjectQuery {
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `active` or `archived`.
    #[param(pattern = "^(active|archived)$")]
    pub status: Option<String>,
    /// Only projects with this tag.
    pub tag: Option<String>,
    /// `me`, or a user id: only projects they are a member of.
    #[param(
        pattern = "^(me|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
    )]
    pub member: Option<String>,
    /// Only projects whose name contains this text.
    pub q: Option<String>,
    /// `created_at` (default), `name`, `updated_at`; a leading `-` reverses.
    #[param(pattern = "^-?(created_at|name|updated_at)$")]
    pub sort: Option<String>,
}

/// A page of projects.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectPage {
    /// The projects, in the order asked for (oldest first by default).
    #[schema(value_type = Vec<ProjectView>)]
    pub items: Vec<Project>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// The projects the caller can see (`projects:read`); private ones only to their members.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", params(ProjectQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProjectPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<ProjectQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let member = match q.member.as_deref() {
        None => None,
        Some("me") => Some(caller.0.user),
        Some(id) => Some(
            id.parse::<UserId>()
                .map_err(|_| CoreError::invalid("member", "must be `me` or a user id"))?,
        ),
    };
    let filter = ProjectFilter {
        status: q.status.as_deref().map(str::parse).transpose()?,
        tag: q.tag,
        member,
        search: q.q.filter(|s| !s.trim().is_empty()),
        visible_to: None,
        sort: q
            .sort
            .as_deref()
            .map(str::parse)
            .transpose()?
            .unwrap_or_default(),
    };
    let page = PageRequest::new(q.limit, q.cursor.map(Cursor::from_wire))?;
    let page = state.projects.list(&caller.0, filter, page).await?;
    Ok(HttpResponse::Ok().json(ProjectPage {
        items: page.items,
        next_cursor: page.next_cursor.map(|c| c.as_str().to_owned()),
    }))
}

/// One project, with its version as `ETag`.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}", tag = "projects",
    params(("project_id" = String, Path, description = "Project id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProjectView),
        (status = 404, description = "No such project, or a private one you are not a member of", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let project = state
        .projects
        .get(&caller.0, path_id::<ProjectId>(&path, "project")?)
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &project))
}

/// A `PATCH` or `PUT` body read as the project's fields: the representation's read-only
/// fields a client echoes back (`Project::READ_ONLY`: `id`, `slug`, `version`, …) are
/// ignored; anything else unknown is refused.
fn change_of(
    mut body: serde_json::Map<String, serde_json::Value>,
) -> Result<ProjectFields, actix_web::Error> {
    body.retain(|name, _| !Project::READ_ONLY.contains(&name.as_str()));
    body::read(serde_json::Value::Object(body))
}

async fn change(
    state: &AppState,
    caller: &Authenticated,
    req: &HttpRequest,
    path: &str,
    fields: ProjectFields,
) -> Result<HttpResponse, ApiError> {
    let project = state
        .projects
        .update(
            &caller.0,
            path_id::<ProjectId>(path, "project")?,
            if_match(req)?,
            fields,
        )
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &project))
}

/// Replaces a project's editable fields (`projects:write` on it); honours `If-Match`.
#[utoipa::path(put, path = "/api/v1/projects/{project_id}", tag = "projects",
    params(("project_id" = String, Path, description = "Project id")),
    request_body = ProjectReplacement, security(("bearer" = [])),
    responses(
        (status = 200, body = ProjectView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived, or the name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names an older version", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replace(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
    body: body::Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<HttpResponse, actix_web::Error> {
    let fields = change_of(body.into_inner())?
        .replacement()
        .map_err(ApiError)?;
    Ok(change(&state, &caller, &req, &path, fields).await?)
}

/// Changes some of a project's fields (`projects:write` on it); honours `If-Match`.
#[utoipa::path(patch, path = "/api/v1/projects/{project_id}", tag = "projects",
    params(("project_id" = String, Path, description = "Project id")),
    request_body = ProjectChange, security(("bearer" = [])),
    responses(
        (status = 200, body = ProjectView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
    body: body::Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<HttpResponse, actix_web::Error> {
    let fields = change_of(body.into_inner())?;
    Ok(change(&state, &caller, &req, &path, fields).await?)
}

/// Deletes a project (`projects:delete` on it); its history stays. Honours `If-Match`.
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}", tag = "projects",
    params(("project_id" = String, Path, description = "Project id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .projects
        .delete(
            &caller.0,
            path_id::<ProjectId>(&path, "project")?,
            if_match(&req)?,
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn archive_to(
    state: &AppState,
    caller: &Authenticated,
    req: &HttpRequest,
    path: &str,
    archived: bool,
) -> Result<HttpResponse, ApiError> {
    let project = state
        .projects
        .set_archived(
            &caller.0,
            path_id::<ProjectId>(path, "project")?,
            if_match(req)?,
            archived,
        )
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &project))
}

/// Archives a project (`projects:write` on it): read-only until unarchived.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/archive", tag = "projects",
    params(("project_id" = String, Path, description = "Project id")),
    security(("bearer" = [])),
    responses((status = 200, body = ProjectView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json")))]
pub async fn archive(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    archive_to(&state, &caller, &req, &path, true).await
}

/// Unarchives a project (`projects:write` on it).
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/unarchive", tag = "projects",
    params(("project_id" = String, Path, description = "Project id")),
    security(("bearer" = [])),
    responses((status = 200, body = ProjectView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json")))]
pub async fn unarchive(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    archive_to(&state, &caller, &req, &path, false).await
}
