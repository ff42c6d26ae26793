//! `/api/v1/roles…` (custom roles) and `PUT /api/v1/users/{id}/roles` (assignment).

use super::body;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use usvc_core::{CoreError, Role, RoleId, UserId};
use usvc_user::{AdminChanges, RoleInput, RoleSummary};
use utoipa::ToSchema;

use crate::http::authenticated::Authenticated;
use crate::http::problem::{path_id, ApiError, Problem};
use crate::http::state::AppState;
use crate::http::user_view::UserView;

/// A role as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleSummaryView {
    /// The custom role's id; `null` for built-in roles.
    pub id: Option<String>,
    /// The name users hold it by.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The actions it grants (`*` and `resource:*` patterns for built-in roles).
    pub permissions: Vec<String>,
    /// `owner`, `admin`, `member` or `viewer`.
    pub built_in: bool,
}

impl From<RoleSummary> for RoleSummaryView {
    fn from(r: RoleSummary) -> Self {
        Self {
            id: r.id.map(|id| id.to_string()),
            name: r.name,
            description: r.description,
            permissions: r.permissions,
            built_in: r.built_in,
        }
    }
}

/// A custom role.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    /// Stable id.
    pub id: String,
    /// The name users hold it by.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The actions it grants.
    pub permissions: Vec<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Role> for RoleView {
    fn from(r: Role) -> Self {
        Self {
            id: r.id.to_string(),
            name: r.name,
            description: r.description,
            permissions: r
                .permissions
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A role definition. `id`, `created_at` and `updated_at` from a GET may be sent back
/// unchanged (they are left out of the schema: a client never needs to send them).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    /// 2-50 of a-z, 0-9, '-', '_', starting with a letter; not a built-in name. Fixed once
    /// created.
    #[schema(min_length = 2, max_length = 50, pattern = "^[a-z][a-z0-9_-]*$")]
    pub name: String,
    /// Up to 500 characters.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
    /// Actions of the catalogue.
    #[schema(min_items = 1, value_type = Vec<crate::http::schema_types::GrantableAction>)]
    pub permissions: Vec<String>,
    /// Read-only (accepted when sent back unchanged from a GET).
    #[schema(ignore)]
    pub id: Option<String>,
    /// Read-only.
    #[schema(ignore)]
    pub created_at: Option<String>,
    /// Read-only.
    #[schema(ignore)]
    pub updated_at: Option<String>,
}

impl From<RoleRequest> for RoleInput {
    fn from(r: RoleRequest) -> Self {
        Self {
            name: r.name,
            description: r.description,
            permissions: r.permissions,
        }
    }
}

/// The role list.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleList {
    /// Built-in roles first, then the tenant's by name.
    pub items: Vec<RoleSummaryView>,
    /// Always `null`: every role fits one page.
    pub next_cursor: Option<String>,
}

/// Built-in and custom roles of the caller's tenant (`users:read`).
#[utoipa::path(get, path = "/api/v1/roles", tag = "roles", security(("bearer" = [])),
    responses(
        (status = 200, body = RoleList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let items = state.roles.list(&caller.0).await?;
    Ok(HttpResponse::Ok().json(RoleList {
        items: items.into_iter().map(RoleSummaryView::from).collect(),
        next_cursor: None,
    }))
}

/// Defines a custom role (`roles:manage`).
#[utoipa::path(post, path = "/api/v1/roles", tag = "roles", request_body = RoleRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = RoleView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: body::Json<RoleRequest>,
) -> Result<HttpResponse, ApiError> {
    let role = state
        .roles
        .create(&caller.0, body.into_inner().into())
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/roles/{}", role.id)))
        .json(RoleView::from(role)))
}

/// One custom role (`users:read`).
#[utoipa::path(get, path = "/api/v1/roles/{role_id}", tag = "roles",
    params(("role_id" = String, Path, description = "Role id")), security(("bearer" = [])),
    responses(
        (status = 200, body = RoleView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let role = state
        .roles
        .get(&caller.0, path_id::<RoleId>(&path, "role")?)
        .await?;
    Ok(HttpResponse::Ok().json(RoleView::from(role)))
}

/// Redefines a custom role's description and permissions (`roles:manage`); holders get the
/// new permissions at their next request.
#[utoipa::path(put, path = "/api/v1/roles/{role_id}", tag = "roles", request_body = RoleRequest,
    params(("role_id" = String, Path, description = "Role id")), security(("bearer" = [])),
    responses(
        (status = 200, body = RoleView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: body::Json<RoleRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<RoleId>(&path, "role")?;
    let role = state
        .roles
        .update(&caller.0, id, body.into_inner().into())
        .await?;
    Ok(HttpResponse::Ok().json(RoleView::from(role)))
}

/// Deletes a custom role nobody holds (`roles:manage`).
#[utoipa::path(delete, path = "/api/v1/roles/{role_id}", tag = "roles",
    params(("role_id" = String, Path, description = "Role id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Users hold it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .roles
        .delete(&caller.0, path_id::<RoleId>(&path, "role")?)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A user's whole role set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRoles {
    /// Built-in or custom role names; replaces the current set.
    #[schema(min_items = 1, value_type = Vec<crate::http::schema_types::RoleName>)]
    pub roles: Vec<String>,
}

/// Replaces a user's roles (`users:write`; owners only for `owner`).
#[utoipa::path(put, path = "/api/v1/users/{user_id}/roles", tag = "roles", request_body = AssignRoles,
    params(("user_id" = String, Path, description = "User id")), security(("bearer" = [])),
    responses(
        (status = 200, body = UserView),
        (status = 400, description = "Unknown role", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last owner", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn assign(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: body::Json<AssignRoles>,
) -> Result<HttpResponse, ApiError> {
    let id = path
        .parse::<UserId>()
        .map_err(|_| ApiError(CoreError::NotFound("user".into())))?;
    let changes = AdminChanges {
        roles: Some(body.into_inner().roles),
        ..AdminChanges::default()
    };
    let user = state.users.update(&caller.0, id, changes).await?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}
