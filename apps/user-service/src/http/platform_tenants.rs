//! `/api/v1/tenants`: tenant administration by holders of the platform grant.

use super::body;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use usvc_core::{CoreError, Cursor, PageRequest, Password, TenantId, TenantStatus};
use usvc_user::{NewTenantWithOwner, TenantChanges};
use utoipa::{IntoParams, ToSchema};

use crate::http::authenticated::Authenticated;
use crate::http::own_tenant::{SettingsUpdate, TenantView};
use crate::http::problem::{path_id, ApiError, Problem};
use crate::http::state::AppState;

/// Paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TenantsQuery {
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of tenants.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantPage {
    /// The tenants, oldest first.
    pub items: Vec<TenantView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Every tenant (platform grant).
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", params(TenantsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TenantPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "No platform grant", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<TenantsQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = PageRequest::new(q.limit, q.cursor.map(Cursor::from_wire))?;
    let page = state.platform.list(&caller.0, page).await?;
    Ok(HttpResponse::Ok().json(TenantPage {
        items: page.items.into_iter().map(TenantView::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.as_str().to_owned()),
    }))
}

/// The first owner of a new tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerInput {
    /// Login email.
    #[schema(
        max_length = 254,
        pattern = "^\\s*[^\\s@\\u0000-\\u001f\\u007f-\\u009f]{1,64}@[^\\s@.\\u0000-\\u001f\\u007f-\\u009f][^\\s@\\u0000-\\u001f\\u007f-\\u009f]*\\.[^\\s@\\u0000-\\u001f\\u007f-\\u009f]*[^\\s@.\\u0000-\\u001f\\u007f-\\u009f]\\s*$"
    )]
    pub email: String,
    /// Password (8-256 characters, not a common one, not the email).
    #[schema(value_type = String, min_length = 8, max_length = 256)]
    pub password: Password,
}

/// A new tenant with its first owner.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantRequest {
    /// Login handle: 2-63 of a-z, 0-9 and '-'.
    #[schema(
        min_length = 2,
        max_length = 63,
        pattern = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
    )]
    pub slug: String,
    /// Display name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    /// The first owner.
    #[serde(deserialize_with = "crate::http::body::object")]
    pub owner: OwnerInput,
}

/// The new owner.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnerView {
    /// User id.
    pub id: String,
    /// Login email.
    pub email: String,
}

/// What creating a tenant answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTenant {
    /// The tenant.
    pub tenant: TenantView,
    /// Its first owner, who logs in with `{tenant: slug, email, password}`.
    pub owner: OwnerView,
}

/// Creates a tenant and its first owner in one step (platform grant).
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", request_body = CreateTenantRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CreatedTenant),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "No platform grant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The password hasher is saturated for this tenant (Retry-After); nothing was written", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: body::Json<CreateTenantRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let (tenant, owner) = state
        .platform
        .create(
            &caller.0,
            NewTenantWithOwner {
                slug: b.slug,
                name: b.name,
                owner_email: b.owner.email,
                owner_password: b.owner.password,
            },
        )
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/tenants/{}", tenant.id)))
        .json(CreatedTenant {
            tenant: TenantView::from(tenant),
            owner: OwnerView {
                id: owner.id.to_string(),
                email: owner.email.as_str().to_owned(),
            },
        }))
}

/// One tenant (platform grant).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}", tag = "tenants",
    params(("tenant_id" = String, Path, description = "Tenant id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TenantView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "No platform grant", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<TenantId>(&path, "tenant")?;
    let tenant = state.platform.get(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(TenantView::from(tenant)))
}

/// A partial change of a tenant.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantUpdate {
    /// A new display name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: Option<String>,
    /// `active` or `disabled` (ends every session of the tenant and stops its logins).
    #[schema(pattern = "^(active|disabled)$")]
    pub status: Option<String>,
    /// Identity settings to change (the others stay).
    #[serde(default, deserialize_with = "crate::http::body::optional_object")]
    pub settings: Option<SettingsUpdate>,
}

/// Changes a tenant's name, status or settings (platform grant).
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant_id}", tag = "tenants",
    params(("tenant_id" = String, Path, description = "Tenant id")),
    request_body = TenantUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = TenantView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "No platform grant", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Disabling the tenant the caller is signed in to", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: body::Json<TenantUpdate>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<TenantId>(&path, "tenant")?;
    let b = body.into_inner();
    let status = b
        .status
        .as_deref()
        .map(|s| match s {
            "active" => Ok(TenantStatus::Active),
            "disabled" => Ok(TenantStatus::Disabled),
            _ => Err(CoreError::invalid("status", "must be active or disabled")),
        })
        .transpose()?;
    let settings = match b.settings {
        Some(update) => Some(update.apply(state.platform.get(&caller.0, id).await?.settings)),
        None => None,
    };
    let tenant = state
        .platform
        .update(
            &caller.0,
            id,
            TenantChanges {
                name: b.name,
                status,
                settings,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(TenantView::from(tenant)))
}
