//! `/api/v1/users…`: the caller's profile, user administration, bulk lookup and import.

use super::body;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use usvc_core::{Cursor, FieldError, PageRequest, Password, UserFilter, UserId, UserStatus};
use usvc_user::{AdminChanges, ImportOutcome, ImportRow, NewUser, ProfileChanges};
use utoipa::{IntoParams, ToSchema};

use crate::http::authenticated::Authenticated;
use crate::http::problem::{path_id, ApiError, Problem};
use crate::http::state::AppState;
use crate::http::user_view::{nullable, unchanged, UserView};

/// Largest accepted import body: 10,000 rows with room for profiles and hashes.
pub const IMPORT_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// The caller's profile update. Everything is optional; read-only fields from a GET may be
/// sent back unchanged (a changed one is a 400). They are left out of the schema: a client
/// never needs to send them.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    /// Name to show (≤ 200).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 200, pattern = "^\\s*[^\\u0000-\\u001f\\u007f-\\u009f]*\\s*$")]
    pub display_name: Option<Option<String>>,
    /// Given name (≤ 100).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 100, pattern = "^\\s*[^\\u0000-\\u001f\\u007f-\\u009f]*\\s*$")]
    pub given_name: Option<Option<String>>,
    /// Family name (≤ 100).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 100, pattern = "^\\s*[^\\u0000-\\u001f\\u007f-\\u009f]*\\s*$")]
    pub family_name: Option<Option<String>>,
    /// BCP 47 tag.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 35, pattern = "^\\s*(?:[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3})?\\s*$")]
    pub locale: Option<Option<String>>,
    /// IANA zone.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 64, pattern = "^\\s*(?:[A-Z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*)?\\s*$")]
    pub timezone: Option<Option<String>>,
    /// http(s) URL.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^\\s*(?:https?://[^/\\s][^\\s]*)?\\s*$")]
    pub avatar_url: Option<Option<String>>,
    /// JSON object.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// Read-only here (change it through an administrator).
    #[schema(ignore)]
    pub email: Option<serde_json::Value>,
    /// Read-only here.
    #[schema(ignore)]
    pub email_verified: Option<serde_json::Value>,
    /// Read-only here.
    #[schema(ignore)]
    pub roles: Option<serde_json::Value>,
    /// Read-only here.
    #[schema(ignore)]
    pub status: Option<serde_json::Value>,
    /// Read-only.
    #[schema(ignore)]
    pub id: Option<serde_json::Value>,
    /// Read-only.
    #[schema(ignore)]
    pub tenant_id: Option<serde_json::Value>,
    /// Read-only.
    #[schema(ignore)]
    pub mfa_enabled: Option<serde_json::Value>,
    /// Read-only.
    #[schema(ignore)]
    pub created_at: Option<serde_json::Value>,
    /// Read-only.
    #[schema(ignore)]
    pub updated_at: Option<serde_json::Value>,
    /// Read-only.
    #[schema(ignore)]
    pub last_login_at: Option<serde_json::Value>,
}

fn json(user: usvc_core::User) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(UserView::from(user))
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/v1/users/profile", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_profile(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    Ok(json(state.auth.profile(&caller.0).await?))
}

/// Updates the caller's own profile (partial: absent fields stay, `null` clears). Also
/// answers `PATCH`.
#[utoipa::path(post, path = "/api/v1/users/profile", tag = "users", request_body = ProfileUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_profile(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: body::Json<ProfileUpdate>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let current = state.auth.profile(&caller.0).await?;
    unchanged(
        &current,
        &[
            ("email", &b.email),
            ("email_verified", &b.email_verified),
            ("roles", &b.roles),
            ("status", &b.status),
            ("id", &b.id),
            ("tenant_id", &b.tenant_id),
            ("mfa_enabled", &b.mfa_enabled),
            ("created_at", &b.created_at),
            ("updated_at", &b.updated_at),
            ("last_login_at", &b.last_login_at),
        ],
    )?;
    let changes = ProfileChanges {
        display_name: b.display_name,
        given_name: b.given_name,
        family_name: b.family_name,
        locale: b.locale,
        timezone: b.timezone,
        avatar_url: b.avatar_url,
        metadata: b.metadata,
    };
    Ok(json(
        state.users.update_own_profile(&caller.0, changes).await?,
    ))
}

/// The same update as `POST /api/v1/users/profile`, under the verb HTTP gives partial
/// updates.
#[utoipa::path(patch, path = "/api/v1/users/profile", tag = "users", request_body = ProfileUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_profile(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: body::Json<ProfileUpdate>,
) -> Result<HttpResponse, ApiError> {
    update_profile(state, caller, body).await
}

/// A user an administrator creates.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login email (unique in the tenant, case-insensitively).
    #[schema(
        max_length = 254,
        pattern = "^\\s*[^\\s@\\u0000-\\u001f\\u007f-\\u009f]{1,64}@[^\\s@.\\u0000-\\u001f\\u007f-\\u009f][^\\s@\\u0000-\\u001f\\u007f-\\u009f]*\\.[^\\s@\\u0000-\\u001f\\u007f-\\u009f]*[^\\s@.\\u0000-\\u001f\\u007f-\\u009f]\\s*$"
    )]
    pub email: String,
    /// Initial password; without one the user must reset it before logging in.
    #[schema(value_type = Option<String>, format = Password, min_length = 8, max_length = 256)]
    pub password: Option<Password>,
    /// Roles; `["member"]` when omitted. Only owners may grant `owner`.
    #[schema(min_items = 1, value_type = Option<Vec<crate::http::schema_types::RoleName>>)]
    pub roles: Option<Vec<String>>,
    /// Whether the administrator vouches for the address.
    #[serde(default)]
    pub email_verified: bool,
    /// Name to show.
    #[schema(
        max_length = 200,
        pattern = "^\\s*[^\\u0000-\\u001f\\u007f-\\u009f]*\\s*$"
    )]
    pub display_name: Option<String>,
    /// Given name.
    #[schema(
        max_length = 100,
        pattern = "^\\s*[^\\u0000-\\u001f\\u007f-\\u009f]*\\s*$"
    )]
    pub given_name: Option<String>,
    /// Family name.
    #[schema(
        max_length = 100,
        pattern = "^\\s*[^\\u0000-\\u001f\\u007f-\\u009f]*\\s*$"
    )]
    pub family_name: Option<String>,
    /// BCP 47 tag.
    #[schema(
        max_length = 35,
        pattern = "^\\s*(?:[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3})?\\s*$"
    )]
    pub locale: Option<String>,
    /// IANA zone.
    #[schema(
        max_length = 64,
        pattern = "^\\s*(?:[A-Z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*)?\\s*$"
    )]
    pub timezone: Option<String>,
    /// Picture URL.
    #[schema(max_length = 2048, pattern = "^\\s*(?:https?://[^/\\s][^\\s]*)?\\s*$")]
    pub avatar_url: Option<String>,
    /// JSON object.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

/// Creates a user in the caller's tenant (`users:write`).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    security(("bearer" = [])),
    responses(
        (status = 201, body = UserView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The password hasher is saturated for this tenant (Retry-After); nothing was written", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: body::Json<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let new = NewUser {
        email: b.email,
        password: b.password,
        roles: b.roles,
        email_verified: b.email_verified,
        profile: ProfileChanges {
            display_name: b.display_name.map(Some),
            given_name: b.given_name.map(Some),
            family_name: b.family_name.map(Some),
            locale: b.locale.map(Some),
            timezone: b.timezone.map(Some),
            avatar_url: b.avatar_url.map(Some),
            metadata: b.metadata,
        },
    };
    let user = state.users.create(&caller.0, new).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/users/{}", user.id)))
        .json(UserView::from(user)))
}

/// Listing filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only users in this state: `active`, `disabled` or `locked`.
    #[param(pattern = "^(active|disabled|locked)$")]
    pub status: Option<String>,
    /// Only users holding this role.
    pub role: Option<String>,
    /// Email or name prefix (case-insensitive).
    #[param(max_length = 254, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub q: Option<String>,
}

/// A page of users.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    /// The users, oldest first.
    pub items: Vec<UserView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// The tenant's users (`users:read`).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let status = status(q.status.as_deref())?;
    let page = PageRequest::new(q.limit, q.cursor.map(Cursor::from_wire))?;
    let filter = UserFilter {
        status,
        role: q.role,
        prefix: q
            .q
            .filter(|p| !p.trim().is_empty())
            .map(|p| p.trim().to_owned()),
    };
    let page = state.users.list(&caller.0, filter, page).await?;
    Ok(HttpResponse::Ok().json(UserPage {
        items: page.items.into_iter().map(UserView::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.as_str().to_owned()),
    }))
}

/// A `status` as callers write it (the stored form), or a 400 naming the field.
fn status(raw: Option<&str>) -> Result<Option<UserStatus>, usvc_core::CoreError> {
    raw.map(|s| {
        UserStatus::parse(s).map_err(|_| {
            usvc_core::CoreError::invalid("status", "must be active, disabled or locked")
        })
    })
    .transpose()
}

/// One user of the caller's tenant (`users:read`, or the caller themself).
#[utoipa::path(get, path = "/api/v1/users/{user_id}", tag = "users",
    params(("user_id" = String, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user in your tenant", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<UserId>(&path, "user")?;
    Ok(json(state.users.get(&caller.0, id).await?))
}

/// An administrator's change to a user (partial). Read-only fields may be echoed unchanged
/// (left out of the schema, as in [`ProfileUpdate`]).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminUpdate {
    /// New login email (becomes unverified unless `email_verified` is also sent).
    #[schema(
        max_length = 254,
        pattern = "^\\s*[^\\s@\\u0000-\\u001f\\u007f-\\u009f]{1,64}@[^\\s@.\\u0000-\\u001f\\u007f-\\u009f][^\\s@\\u0000-\\u001f\\u007f-\\u009f]*\\.[^\\s@\\u0000-\\u001f\\u007f-\\u009f]*[^\\s@.\\u0000-\\u001f\\u007f-\\u009f]\\s*$"
    )]
    pub email: Option<String>,
    /// Whether the address is proven.
    pub email_verified: Option<bool>,
    /// The new role set.
    #[schema(min_items = 1, value_type = Option<Vec<crate::http::schema_types::RoleName>>)]
    pub roles: Option<Vec<String>>,
    /// `active`, `disabled` (ends every session) or `locked`.
    #[schema(pattern = "^(active|disabled|locked)$")]
    pub status: Option<String>,
    /// Name to show.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 200, pattern = "^\\s*[^\\u0000-\\u001f\\u007f-\\u009f]*\\s*$")]
    pub display_name: Option<Option<String>>,
    /// Given name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 100, pattern = "^\\s*[^\\u0000-\\u001f\\u007f-\\u009f]*\\s*$")]
    pub given_name: Option<Option<String>>,
    /// Family name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 100, pattern = "^\\s*[^\\u0000-\\u001f\\u007f-\\u009f]*\\s*$")]
    pub family_name: Option<Option<String>>,
    /// BCP 47 tag.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 35, pattern = "^\\s*(?:[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3})?\\s*$")]
    pub locale: Option<Option<String>>,
    /// IANA zone.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 64, pattern = "^\\s*(?:[A-Z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*)?\\s*$")]
    pub timezone: Option<Option<String>>,
    /// http(s) URL.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^\\s*(?:https?://[^/\\s][^\\s]*)?\\s*$")]
    pub avatar_url: Option<Option<String>>,
    /// JSON object.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// Read-only.
    #[schema(ignore)]
    pub id: Option<serde_json::Value>,
    /// Read-only.
    #[schema(ignore)]
    pub tenant_id: Option<serde_json::Value>,
    /// Read-only.
    #[schema(ignore)]
    pub mfa_enabled: Option<serde_json::Value>,
    /// Read-only.
    #[schema(ignore)]
    pub created_at: Option<serde_json::Value>,
    /// Read-only.
    #[schema(ignore)]
    pub updated_at: Option<serde_json::Value>,
    /// Read-only.
    #[schema(ignore)]
    pub last_login_at: Option<serde_json::Value>,
}

/// Changes a user's profile, email, roles or status (`users:write`; owners only for owners).
#[utoipa::path(patch, path = "/api/v1/users/{user_id}", tag = "users", request_body = AdminUpdate,
    params(("user_id" = String, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Email taken, or the last owner", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: body::Json<AdminUpdate>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<UserId>(&path, "user")?;
    let b = body.into_inner();
    let status = status(b.status.as_deref())?;
    let echoed = [
        ("id", &b.id),
        ("tenant_id", &b.tenant_id),
        ("mfa_enabled", &b.mfa_enabled),
        ("created_at", &b.created_at),
        ("updated_at", &b.updated_at),
        ("last_login_at", &b.last_login_at),
    ];
    if echoed.iter().any(|(_, v)| v.is_some()) {
        let current = state.users.get(&caller.0, id).await?;
        unchanged(&current, &echoed)?;
    }
    let changes = AdminChanges {
        profile: ProfileChanges {
            display_name: b.display_name,
            given_name: b.given_name,
            family_name: b.family_name,
            locale: b.locale,
            timezone: b.timezone,
            avatar_url: b.avatar_url,
            metadata: b.metadata,
        },
        email: b.email,
        email_verified: b.email_verified,
        roles: b.roles,
        status,
    };
    Ok(json(state.users.update(&caller.0, id, changes).await?))
}

/// Erases a user (`users:delete`): every session ends, personal data is removed, the id stays
/// for history.
#[utoipa::path(delete, path = "/api/v1/users/{user_id}", tag = "users",
    params(("user_id" = String, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Erased"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last owner", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<UserId>(&path, "user")?;
    state.users.delete(&caller.0, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Bulk lookup input.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// Up to 1000 user ids (none is an empty answer).
    #[schema(max_items = 1000, value_type = Vec<uuid::Uuid>)]
    pub ids: Vec<String>,
}

/// Bulk lookup answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct LookupResponse {
    /// The users found, in request order.
    pub items: Vec<UserView>,
    /// Ids with no user in your tenant.
    pub missing: Vec<String>,
}

/// Many profiles at once (`users:read`): cache first, one query for the misses.
#[utoipa::path(post, path = "/api/v1/users/lookup", tag = "users", request_body = LookupRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = LookupResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn lookup(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: body::Json<LookupRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut ids = Vec::with_capacity(body.ids.len());
    let mut errors = Vec::new();
    for (i, raw) in body.ids.iter().enumerate() {
        match raw.parse::<UserId>() {
            Ok(id) => ids.push(id),
            Err(_) => errors.push(FieldError {
                field: format!("ids[{i}]"),
                message: "is not a user id".into(),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(usvc_core::CoreError::Validation(errors).into());
    }
    let found = state.users.lookup(&caller.0, ids).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(LookupResponse {
            items: found.users.into_iter().map(UserView::from).collect(),
            missing: found.missing.iter().map(ToString::to_string).collect(),
        }))
}

/// One user to import. Every field is checked as in `POST /api/v1/users` (email, password
/// policy, name lengths, BCP 47 locale, IANA zone, http(s) avatar, roles the importer holds), but
/// per row: a row that fails is reported `rejected` with its field errors and the rest are
/// stored, so the schema states only the types (a stricter schema would promise a 400 the
/// import does not give).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportUser {
    /// Login email.
    pub email: String,
    /// A plain password (hashed here).
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<Password>,
    /// Or a hash from another system: argon2 PHC (`$argon2id$…`) or bcrypt (`$2b$…`).
    pub password_hash: Option<String>,
    /// Roles; `["member"]` when omitted.
    pub roles: Option<Vec<String>>,
    /// Whether the address is proven.
    #[serde(default)]
    pub email_verified: bool,
    /// Name to show (≤ 200).
    pub display_name: Option<String>,
    /// Given name (≤ 100).
    pub given_name: Option<String>,
    /// Family name (≤ 100).
    pub family_name: Option<String>,
    /// BCP 47 tag.
    pub locale: Option<String>,
    /// IANA zone.
    pub timezone: Option<String>,
    /// Picture URL (http or https, ≤ 2048).
    pub avatar_url: Option<String>,
    /// JSON object.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

/// What happened to one row.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    /// The row's position in the input (0-based).
    pub index: usize,
    /// `created` or `rejected`.
    pub status: &'static str,
    /// The new user's id, if created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Why it was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub errors: Option<Vec<FieldError>>,
}

/// The import's report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// Rows stored.
    pub created: usize,
    /// Rows refused (nothing of them was stored).
    pub rejected: usize,
    /// One entry per input row, in input order.
    pub results: Vec<ImportResult>,
}

/// Creates up to 10,000 users from a JSON array (`users:import`). Each row is validated on
/// its own; valid rows are stored in one transaction, rejected rows write nothing.
#[utoipa::path(post, path = "/api/v1/users/import", tag = "users", request_body = crate::http::schema_types::ImportRows,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ImportReport),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The password hasher is saturated for this tenant (Retry-After); nothing was written", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: web::Json<Vec<ImportUser>>,
) -> Result<HttpResponse, ApiError> {
    let rows = body
        .into_inner()
        .into_iter()
        .map(|u| ImportRow {
            email: u.email,
            password: u.password,
            password_hash: u.password_hash,
            roles: u.roles,
            email_verified: u.email_verified,
            profile: ProfileChanges {
                display_name: u.display_name.map(Some),
                given_name: u.given_name.map(Some),
                family_name: u.family_name.map(Some),
                locale: u.locale.map(Some),
                timezone: u.timezone.map(Some),
                avatar_url: u.avatar_url.map(Some),
                metadata: u.metadata,
            },
        })
        .collect();
    let outcomes = state.users.import(&caller.0, rows).await?;
    let results: Vec<ImportResult> = outcomes
        .into_iter()
        .enumerate()
        .map(|(index, outcome)| match outcome {
            ImportOutcome::Created(id) => ImportResult {
                index,
                status: "created",
                id: Some(id.to_string()),
                errors: None,
            },
            ImportOutcome::Rejected(errors) => ImportResult {
                index,
                status: "rejected",
                id: None,
                errors: Some(errors),
            },
        })
        .collect();
    let created = results.iter().filter(|r| r.status == "created").count();
    Ok(HttpResponse::Ok().json(ImportReport {
        created,
        rejected: results.len() - created,
        results,
    }))
}
