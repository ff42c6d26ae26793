//! `/api/v1/projects/{id}/members`: who is on a project, with which project role.

use super::body;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use usvc_core::{ProjectId, ProjectMember, ProjectRole, UserId};
use utoipa::ToSchema;

use crate::http::authenticated::Authenticated;
use crate::http::problem::{path_id, ApiError, Problem};
use crate::http::state::AppState;

/// A member of a project.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    /// The user.
    pub user_id: String,
    /// `owner`, `maintainer`, `editor` or `viewer`.
    pub role: &'static str,
    /// Since when.
    pub added_at: DateTime<Utc>,
}

impl From<ProjectMember> for MemberView {
    fn from(m: ProjectMember) -> Self {
        Self {
            user_id: m.user_id.to_string(),
            role: m.role.as_str(),
            added_at: m.added_at,
        }
    }
}

/// The members of a project.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    /// Strongest role first, then in the order they joined.
    pub items: Vec<MemberView>,
}

/// A user to add to a project.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    /// A user of the caller's tenant.
    #[schema(format = Uuid)]
    pub user_id: String,
    /// `owner`, `maintainer`, `editor` or `viewer`.
    #[schema(pattern = "^(owner|maintainer|editor|viewer)$")]
    pub role: String,
}

/// A member's new role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeMember {
    /// `owner`, `maintainer`, `editor` or `viewer`.
    #[schema(pattern = "^(owner|maintainer|editor|viewer)$")]
    pub role: String,
}

fn role(raw: &str) -> Result<ProjectRole, ApiError> {
    Ok(raw.parse::<ProjectRole>()?)
}

fn user_id(raw: &str) -> Result<UserId, ApiError> {
    path_id::<UserId>(raw, "user")
}

/// Who is on the project (`projects:read` on it).
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/members", tag = "projects",
    params(("project_id" = String, Path, description = "Project id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = MemberList),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let members = state
        .projects
        .members(&caller.0, path_id::<ProjectId>(&path, "project")?)
        .await?;
    Ok(HttpResponse::Ok().json(MemberList {
        items: members.into_iter().map(MemberView::from).collect(),
    }))
}

/// Adds a user of the tenant to the project (`projects:manage_members` on it; only owners and
/// tenant admins add an `owner`).
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/members", tag = "projects",
    params(("project_id" = String, Path, description = "Project id")),
    request_body = AddMember, security(("bearer" = [])),
    responses(
        (status = 201, body = MemberView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project or user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already a member", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: body::Json<AddMember>,
) -> Result<HttpResponse, ApiError> {
    let project = path_id::<ProjectId>(&path, "project")?;
    let (user, role) = (user_id(&body.user_id)?, role(&body.role)?);
    let member = state
        .projects
        .add_member(&caller.0, project, user, role)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/projects/{project}/members/{user}"),
        ))
        .json(MemberView::from(member)))
}

/// Changes a member's role (`projects:manage_members`; only owners and tenant admins grant or
/// take `owner`; the owner of record keeps it).
#[utoipa::path(patch, path = "/api/v1/projects/{project_id}/members/{user_id}", tag = "projects",
    params(("project_id" = String, Path, description = "Project id"),
        ("user_id" = String, Path, description = "The member's user id")),
    request_body = ChangeMember, security(("bearer" = [])),
    responses(
        (status = 200, body = MemberView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project or member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The owner of record keeps the owner role", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    body: body::Json<ChangeMember>,
) -> Result<HttpResponse, ApiError> {
    let project = path_id::<ProjectId>(&path.0, "project")?;
    let (user, role) = (user_id(&path.1)?, role(&body.role)?);
    let member = state
        .projects
        .set_member_role(&caller.0, project, user, role)
        .await?;
    Ok(HttpResponse::Ok().json(MemberView::from(member)))
}

/// Removes a member (`projects:manage_members`; anyone may remove themselves; the owner of
/// record stays).
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}/members/{user_id}", tag = "projects",
    params(("project_id" = String, Path, description = "Project id"),
        ("user_id" = String, Path, description = "The member's user id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let project = path_id::<ProjectId>(&path.0, "project")?;
    state
        .projects
        .remove_member(&caller.0, project, user_id(&path.1)?)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
