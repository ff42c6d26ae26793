//! `POST /api/v1/authz/check` and `/check-batch`: other services ask the user service whether
//! a user may do something, instead of re-implementing roles.

use super::body;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use usvc_core::{CoreError, Decision, UserId};
use usvc_user::permission_questions::Question;
use utoipa::ToSchema;

use crate::http::authenticated::Authenticated;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;

/// What a question is about.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceInput {
    /// `tenant`, `user`, `role`, `project`, `workflow`, `execution`, `task` or `audit`.
    #[serde(rename = "type")]
    #[schema(pattern = "^(tenant|user|role|project|workflow|execution|task|audit)$")]
    pub kind: String,
    /// One instance; omit for the tenant-wide question.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub id: Option<String>,
}

/// One permission question.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// Whose permission; the caller when omitted. Asking about others needs `users:read`.
    #[schema(format = Uuid)]
    pub user_id: Option<String>,
    /// An action of the catalogue (`projects:write`).
    #[schema(
        pattern = "^(users:(read|write|delete|import|manage_owners)|roles:manage|tenant:(read|write)|analytics:read|audit:read|projects:(create|read|write|delete|manage_members)|workflows:(read|write|execute)|tasks:complete|clients:manage|tenants:manage)$"
    )]
    pub action: String,
    /// The resource.
    #[serde(deserialize_with = "crate::http::body::object")]
    pub resource: ResourceInput,
}

/// The answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResponse {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// Why (the granting role, or what is missing).
    pub reason: String,
}

impl From<Decision> for CheckResponse {
    fn from(d: Decision) -> Self {
        Self {
            allowed: d.allowed,
            reason: d.reason,
        }
    }
}

/// Up to 100 questions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The questions, answered in order.
    #[schema(min_items = 1, max_items = 100)]
    #[serde(deserialize_with = "crate::http::body::objects")]
    pub checks: Vec<CheckRequest>,
}

/// The answers, in question order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    /// One answer per question.
    pub results: Vec<CheckResponse>,
}

fn question(input: CheckRequest) -> Result<Question, CoreError> {
    let user = match input.user_id {
        // An id that is not even an id names no user of this tenant.
        Some(raw) => Some(
            raw.parse::<UserId>()
                .map_err(|_| CoreError::NotFound("user".into()))?,
        ),
        None => None,
    };
    Ok(Question {
        user,
        action: input.action,
        resource_type: input.resource.kind,
        resource_id: input.resource.id,
    })
}

/// May this user do this action to this resource?
#[utoipa::path(post, path = "/api/v1/authz/check", tag = "authz", request_body = CheckRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CheckResponse),
        (status = 400, description = "Unknown action or resource type", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Asking about another user without users:read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user in your tenant", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn check(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: body::Json<CheckRequest>,
) -> Result<HttpResponse, ApiError> {
    let q = question(body.into_inner())?;
    let mut decisions = state.users.check(&caller.0, vec![q]).await?;
    let decision = decisions
        .pop()
        .ok_or_else(|| CoreError::Internal("no decision".into()))?;
    Ok(HttpResponse::Ok().json(CheckResponse::from(decision)))
}

/// Up to 100 questions in one call, answered in order.
#[utoipa::path(post, path = "/api/v1/authz/check-batch", tag = "authz", request_body = BatchRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = BatchResponse),
        (status = 400, description = "Empty, over 100, or a badly worded question (named checks[i].…)", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn check_batch(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: body::Json<BatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let questions = body
        .into_inner()
        .checks
        .into_iter()
        .map(question)
        .collect::<Result<Vec<_>, _>>()?;
    let decisions = state.users.check(&caller.0, questions).await?;
    Ok(HttpResponse::Ok().json(BatchResponse {
        results: decisions.into_iter().map(CheckResponse::from).collect(),
    }))
}
