//! `/api/v1/projects`: projects with `ETag` / `If-Match` on their version.

use super::body;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use usvc_core::{
    CoreError, Cursor, IdempotencyKey, PageRequest, Project, ProjectFilter, ProjectId, UserId,
    Visibility,
};
use usvc_project::ProjectFields;
use utoipa::{IntoParams, ToSchema};

use crate::http::authenticated::Authenticated;
use crate::http::problem::{path_id, ApiError, Problem};
use crate::http::state::AppState;
use crate::http::user_view::nullable;

/// A project.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectView {
    /// Stable id.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Display name (unique in the tenant).
    pub name: String,
    /// URL-friendly handle.
    pub slug: String,
    /// Free text.
    pub description: String,
    /// `active` or `archived`.
    pub status: &'static str,
    /// `private` (members only) or `tenant`.
    pub visibility: &'static str,
    /// Labels.
    pub tags: Vec<String>,
    /// Free-form settings.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// The owner of record.
    pub owner_id: String,
    /// Incremented by every change; also the `ETag`.
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it was archived, while it is.
    pub archived_at: Option<DateTime<Utc>>,
}

impl From<Project> for ProjectView {
    fn from(p: Project) -> Self {
        Self {
            id: p.id.to_string(),
            tenant_id: p.tenant_id.to_string(),
            name: p.name,
            slug: p.slug,
            description: p.description,
            status: p.status.as_str(),
            visibility: p.visibility.as_str(),
            tags: p.tags,
            settings: p.settings,
            owner_id: p.owner_id.to_string(),
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
            archived_at: p.archived_at,
        }
    }
}

/// The answer for one project: its view with its version as the `ETag`.
pub(crate) fn with_etag(
    mut response: actix_web::HttpResponseBuilder,
    project: Project,
) -> HttpResponse {
    response
        .insert_header((header::ETAG, format!("\"{}\"", project.version)))
        .json(ProjectView::from(project))
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

fn visibility(raw: Option<&str>) -> Result<Option<Visibility>, CoreError> {
    raw.map(str::parse).transpose()
}

/// A new project.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    /// Display name, unique in the tenant (1-200 characters).
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    /// Free text (at most 5000 characters).
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    /// `private` or `tenant` (default).
    #[schema(pattern = "^(private|tenant)$")]
    pub visibility: Option<String>,
    /// Labels (at most 20, each 1-50 characters).
    #[schema(max_items = 20, value_type = Option<Vec<crate::http::schema_types::Tag>>)]
    pub tags: Option<Vec<String>>,
    /// A JSON object of at most 16 KiB.
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
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
    body: body::Json<CreateProject>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req, &*body)?;
    let b = body.into_inner();
    let fields = ProjectFields {
        name: Some(b.name),
        description: b.description,
        visibility: visibility(b.visibility.as_deref())?,
        tags: b.tags,
        settings: b.settings,
    };
    let (project, replayed) = state.projects.create_once(&caller.0, fields, key).await?;
    let location = format!("/api/v1/projects/{}", project.id);
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, location));
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(with_etag(response, project))
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
    pub items: Vec<ProjectView>,
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
        items: page.items.into_iter().map(ProjectView::from).collect(),
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
    Ok(with_etag(HttpResponse::Ok(), project))
}

/// A change of a project's fields. In a `PATCH` absent fields stay; in a `PUT` they return to
/// their defaults. Read-only fields echoed back (`id`, `slug`, `version`, …) are ignored and
/// left out of the schema.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectChange {
    /// Display name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: Option<String>,
    /// Free text.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub description: Option<Option<String>>,
    /// `private` or `tenant`.
    #[schema(pattern = "^(private|tenant)$")]
    pub visibility: Option<String>,
    /// Labels (the whole set).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<crate::http::schema_types::Tag>>, max_items = 20)]
    pub tags: Option<Option<Vec<String>>>,
    /// Settings (the whole object).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Option<serde_json::Value>>,
    /// Read-only, ignored.
    #[schema(ignore)]
    pub id: Option<serde_json::Value>,
    /// Read-only, ignored.
    #[schema(ignore)]
    pub tenant_id: Option<serde_json::Value>,
    /// Read-only, ignored.
    #[schema(ignore)]
    pub slug: Option<serde_json::Value>,
    /// Read-only (use `/archive`), ignored.
    #[schema(ignore)]
    pub status: Option<serde_json::Value>,
    /// Read-only, ignored.
    #[schema(ignore)]
    pub owner_id: Option<serde_json::Value>,
    /// Read-only (send `If-Match`), ignored.
    #[schema(ignore)]
    pub version: Option<serde_json::Value>,
    /// Read-only, ignored.
    #[schema(ignore)]
    pub created_at: Option<serde_json::Value>,
    /// Read-only, ignored.
    #[schema(ignore)]
    pub updated_at: Option<serde_json::Value>,
    /// Read-only, ignored.
    #[schema(ignore)]
    pub archived_at: Option<serde_json::Value>,
}

impl ProjectChange {
    /// The fields to apply: for a `PUT` (`replace`) absent fields mean their defaults.
    fn fields(self, replace: bool) -> Result<ProjectFields, CoreError> {
        if replace && self.name.is_none() {
            return Err(CoreError::invalid("name", "is required in a PUT"));
        }
        let or_default = |v: Option<Option<String>>| {
            if replace {
                Some(v.flatten().unwrap_or_default())
            } else {
                v.map(Option::unwrap_or_default)
            }
        };
        Ok(ProjectFields {
            name: self.name,
            description: or_default(self.description),
            visibility: match visibility(self.visibility.as_deref())? {
                None if replace => Some(Visibility::Tenant),
                v => v,
            },
            tags: if replace {
                Some(self.tags.flatten().unwrap_or_default())
            } else {
                self.tags.map(Option::unwrap_or_default)
            },
            settings: if replace {
                Some(
                    self.settings
                        .flatten()
                        .unwrap_or_else(|| serde_json::json!({})),
                )
            } else {
                self.settings
                    .map(|s| s.unwrap_or_else(|| serde_json::json!({})))
            },
        })
    }
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
    Ok(with_etag(HttpResponse::Ok(), project))
}

/// Replaces a project's editable fields (`projects:write` on it); honours `If-Match`.
#[utoipa::path(put, path = "/api/v1/projects/{project_id}", tag = "projects",
    params(("project_id" = String, Path, description = "Project id")),
    request_body = crate::http::schema_types::ProjectReplacement, security(("bearer" = [])),
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
    body: body::Json<ProjectChange>,
) -> Result<HttpResponse, ApiError> {
    let fields = body.into_inner().fields(true)?;
    change(&state, &caller, &req, &path, fields).await
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
    body: body::Json<ProjectChange>,
) -> Result<HttpResponse, ApiError> {
    let fields = body.into_inner().fields(false)?;
    change(&state, &caller, &req, &path, fields).await
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
    Ok(with_etag(HttpResponse::Ok(), project))
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

#[cfg(test)]
mod tests {
    use usvc_core::{Project, ProjectId, ProjectStatus, TenantId, UserId, Visibility};

    use super::ProjectView;

    /// Workflow steps return a project as the entity serialises itself; the API's view must
    /// be that same shape, so a step's output and a `GET` of the project read alike.
    #[test]
    fn the_api_view_of_a_project_is_the_entity_serialised() {
        let now = chrono::Utc::now();
        let project = Project {
            id: ProjectId::new(),
            tenant_id: TenantId::new(),
            name: "Apollo".into(),
            slug: "apollo".into(),
            description: "To the moon".into(),
            status: ProjectStatus::Archived,
            visibility: Visibility::Tenant,
            tags: vec!["space".into()],
            settings: serde_json::json!({ "a": 1 }),
            owner_id: UserId::new(),
            version: 3,
            created_at: now,
            updated_at: now,
            archived_at: Some(now),
        };
        assert_eq!(
            serde_json::to_value(ProjectView::from(project.clone())).expect("view"),
            serde_json::to_value(project).expect("entity")
        );
    }
}
