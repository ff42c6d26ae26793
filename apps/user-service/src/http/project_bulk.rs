//! `POST /api/v1/projects/bulk`: one action over up to 1000 projects, answered per project.

use super::{body, valid};
use std::collections::{HashMap, HashSet};

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use usvc_core::{BulkAction, CoreError, ProjectId, ProjectRole, UserId, MAX_BULK};
use utoipa::ToSchema;
use validator::Validate;

use crate::http::authenticated::Authenticated;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;

/// [`MAX_BULK`] as `validator` counts.
const MAX_IDS: u64 = MAX_BULK as u64;

/// A bulk request.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// `archive`, `unarchive`, `delete`, `transfer_owner`, `add_member` or `remove_member`.
    #[schema(pattern = "^(archive|unarchive|delete|transfer_owner|add_member|remove_member)$")]
    pub action: String,
    /// 1-1000 project ids; repeats are answered once.
    #[schema(min_items = 1, max_items = 1000, value_type = Vec<uuid::Uuid>)]
    #[validate(length(min = 1, max = MAX_IDS, message = "must name 1-1000 projects"))]
    pub ids: Vec<String>,
    /// `{user_id}` for `transfer_owner` and `remove_member`; `{user_id, role}` for
    /// `add_member`; nothing otherwise.
    #[serde(default, deserialize_with = "crate::http::body::object")]
    pub params: BulkParams,
}

/// The parameters of a bulk action.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkParams {
    /// The user the action is about.
    #[schema(format = Uuid)]
    pub user_id: Option<String>,
    /// The project role for `add_member`.
    #[schema(pattern = "^(owner|maintainer|editor|viewer)$")]
    pub role: Option<String>,
}

/// One project's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkItemResult {
    /// The id as sent.
    pub id: String,
    /// `ok` (changed), `unchanged` (already as asked) or `error`.
    pub status: &'static str,
    /// Why it was left alone, as a problem document (404 missing or not visible, 403 not
    /// allowed, 409 conflict, 412 changed during the request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

/// The answer to a bulk request: per project, in the order sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResponse {
    /// One entry per distinct id.
    pub results: Vec<BulkItemResult>,
    /// Projects changed.
    pub ok: usize,
    /// Projects already as asked.
    pub unchanged: usize,
    /// Projects left alone.
    pub failed: usize,
}

fn user_param(params: &BulkParams) -> Result<UserId, CoreError> {
    params
        .user_id
        .as_deref()
        .ok_or_else(|| CoreError::invalid("params.user_id", "is required for this action"))?
        .parse()
        .map_err(|_| CoreError::invalid("params.user_id", "is not a user id"))
}

fn action(raw: &str, params: &BulkParams) -> Result<BulkAction, CoreError> {
    let action = match raw {
        "archive" => BulkAction::Archive,
        "unarchive" => BulkAction::Unarchive,
        "delete" => BulkAction::Delete,
        "transfer_owner" => BulkAction::TransferOwner {
            to: user_param(params)?,
        },
        "add_member" => BulkAction::AddMember {
            user: user_param(params)?,
            role: params
                .role
                .as_deref()
                .ok_or_else(|| CoreError::invalid("params.role", "is required for add_member"))?
                .parse::<ProjectRole>()
                .map_err(|_| {
                    CoreError::invalid(
                        "params.role",
                        "must be one of owner, maintainer, editor, viewer",
                    )
                })?,
        },
        "remove_member" => BulkAction::RemoveMember {
            user: user_param(params)?,
        },
        other => {
            return Err(CoreError::invalid(
                "action",
                format!(
                    "`{other}` is not one of archive, unarchive, delete, transfer_owner, add_member, remove_member"
                ),
            ))
        }
    };
    let unused = match action {
        BulkAction::Archive | BulkAction::Unarchive | BulkAction::Delete => {
            params.user_id.is_some() || params.role.is_some()
        }
        BulkAction::TransferOwner { .. } | BulkAction::RemoveMember { .. } => params.role.is_some(),
        BulkAction::AddMember { .. } => false,
    };
    if unused {
        return Err(CoreError::invalid(
            "params",
            format!("`{raw}` takes no such parameter"),
        ));
    }
    Ok(action)
}

/// Applies one action to many projects (each authorized on its own: `projects:write` to
/// archive or unarchive, `projects:delete` to delete or transfer ownership,
/// `projects:manage_members` to add or remove members) in one transaction. The answer is
/// `200` with a result per project even when some were refused; a bad request as a whole
/// (unknown action, missing parameter, no ids or more than 1000, an unknown user) is a 4xx.
#[utoipa::path(post, path = "/api/v1/projects/bulk", tag = "projects", request_body = BulkRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = BulkResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The user named in `params` does not exist", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn bulk(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: body::Json<BulkRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let action = action(&body.action, &body.params)?;
    valid::check(&body)?;
    // Ids that do not parse are answered like unknown ones, per item; one project named
    // twice (even spelled differently) is answered once.
    let mut raw_ids: Vec<String> = Vec::with_capacity(body.ids.len());
    let mut parsed: HashMap<String, ProjectId> = HashMap::new();
    let (mut seen_raw, mut seen_ids) = (HashSet::new(), HashSet::new());
    for raw in body.ids {
        if !seen_raw.insert(raw.clone()) {
            continue;
        }
        if let Ok(id) = raw.parse::<ProjectId>() {
            if !seen_ids.insert(id) {
                continue;
            }
            parsed.insert(raw.clone(), id);
        }
        raw_ids.push(raw);
    }
    let ids: Vec<ProjectId> = raw_ids
        .iter()
        .filter_map(|r| parsed.get(r))
        .copied()
        .collect();
    let outcomes: HashMap<ProjectId, Result<bool, CoreError>> = if ids.is_empty() {
        HashMap::new()
    } else {
        state
            .projects
            .bulk(&caller.0, action, &ids)
            .await?
            .into_iter()
            .map(|o| (o.id, o.result))
            .collect()
    };
    let results: Vec<BulkItemResult> = raw_ids
        .into_iter()
        .map(|raw| {
            let outcome = parsed
                .get(&raw)
                .and_then(|id| outcomes.get(id).cloned())
                .unwrap_or_else(|| Err(CoreError::NotFound("project".into())));
            match outcome {
                Ok(true) => BulkItemResult {
                    id: raw,
                    status: "ok",
                    error: None,
                },
                Ok(false) => BulkItemResult {
                    id: raw,
                    status: "unchanged",
                    error: None,
                },
                Err(e) => BulkItemResult {
                    id: raw,
                    status: "error",
                    error: Some(ApiError(e).problem()),
                },
            }
        })
        .collect();
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    let (ok, unchanged, failed) = (count("ok"), count("unchanged"), count("error"));
    Ok(HttpResponse::Ok().json(BulkResponse {
        results,
        ok,
        unchanged,
        failed,
    }))
}
