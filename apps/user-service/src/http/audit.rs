//! `/api/v1/audit`: the tenant's audit trail, its verification and its export.

use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use usvc_core::{
    Actor, AuditFilter, AuditRecord, ChainReport, CoreError, Cursor, PageRequest, ResourceRef,
    UserId,
};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

use crate::http::authenticated::Authenticated;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::valid;

/// Listing filters and paging.
#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
#[validate(schema(function = "from_before_until"))]
pub struct AuditQuery {
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only rows by this user (id).
    #[param(value_type = Option<uuid::Uuid>)]
    pub actor: Option<String>,
    /// Only rows with this action (`auth.login`, `user.updated`, `authz.denied`, …).
    pub action: Option<String>,
    /// Only rows about this resource: a type (`user`) or `type:id` (`user:0193…`).
    pub resource: Option<String>,
    /// Only rows with this outcome: `success`, `denied` or `failure`.
    #[param(pattern = "^(success|denied|failure)$")]
    pub outcome: Option<String>,
    /// Only rows at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Only rows before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// A time window that ends after it starts (the error names `until`).
fn from_before_until(q: &AuditQuery) -> Result<(), ValidationError> {
    match (q.from, q.until) {
        (Some(from), Some(until)) if from >= until => {
            Err(ValidationError::new("until").with_message("must be after `from`".into()))
        }
        _ => Ok(()),
    }
}

impl AuditQuery {
    fn filter(&self) -> Result<AuditFilter, CoreError> {
        let actor = self
            .actor
            .as_deref()
            .map(|a| {
                a.parse::<UserId>()
                    .map_err(|_| CoreError::invalid("actor", "must be a user id"))
            })
            .transpose()?;
        let resource = self.resource.as_deref().map(|r| match r.split_once(':') {
            Some((kind, id)) => ResourceRef::one(kind, id),
            None => ResourceRef::any(r),
        });
        let outcome = self.outcome.as_deref().map(str::parse).transpose()?;
        valid::check(self)?;
        Ok(AuditFilter {
            actor,
            action: self.action.clone(),
            resource,
            outcome,
            from: self.from,
            until: self.until,
        })
    }
}

/// Who acted.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorView {
    /// `user`, `system` or `anonymous`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The user, for `user`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The session the user acted through, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// What an action was about.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceView {
    /// The resource type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The instance, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// One audit row, with its place in the tenant's hash chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditRecordView {
    /// Row id.
    pub id: String,
    /// Position in the tenant's chain (1, 2, 3, … without gaps).
    pub seq: i64,
    /// Tenant.
    pub tenant_id: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: ActorView,
    /// What (`auth.login`, `user.updated`, …).
    pub action: String,
    /// To what.
    pub resource: Option<ResourceView>,
    /// `success`, `denied` or `failure`.
    pub outcome: &'static str,
    /// Client address.
    pub ip: Option<String>,
    /// Client software.
    pub user_agent: Option<String>,
    /// The request's `x-request-id`.
    pub request_id: Option<String>,
    /// Whatever else the row records (`null` when nothing).
    #[schema(value_type = Option<Object>)]
    pub details: serde_json::Value,
    /// The previous row's `hash` (`""` for the first row).
    pub prev_hash: String,
    /// SHA-256 over this row and `prev_hash` (see docs/security.md).
    pub hash: String,
}

impl From<AuditRecord> for AuditRecordView {
    fn from(r: AuditRecord) -> Self {
        let e = r.entry;
        let (id, session_id) = match &e.actor {
            Actor::User { id, session } => (Some(id.to_string()), session.map(|s| s.to_string())),
            Actor::System | Actor::Anonymous => (None, None),
        };
        Self {
            id: r.id.to_string(),
            seq: r.seq,
            tenant_id: e.tenant.to_string(),
            at: e.at,
            actor: ActorView {
                kind: e.actor.kind(),
                id,
                session_id,
            },
            action: e.action,
            resource: e.resource.map(|r| ResourceView {
                kind: r.kind,
                id: r.id,
            }),
            outcome: e.outcome.as_str(),
            ip: e.origin.ip,
            user_agent: e.origin.user_agent,
            request_id: e.origin.request_id,
            details: e.details,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// A page of audit rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// The rows, newest first.
    pub items: Vec<AuditRecordView>,
    /// Pass as `cursor` for the next (older) page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// The tenant's audit rows, newest first (`audit:read`).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AuditPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = q.filter()?;
    let page = PageRequest::new(q.limit, q.cursor.map(Cursor::from_wire))?;
    let page = state.audit.list(&caller.0, filter, page).await?;
    Ok(HttpResponse::Ok().json(AuditPage {
        items: page.items.into_iter().map(AuditRecordView::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.as_str().to_owned()),
    }))
}

/// The verdict of a chain check.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResponse {
    /// Whether every row and the chain head agree.
    pub valid: bool,
    /// How many rows were checked.
    pub checked: u64,
    /// The first row that does not fit (edited, or after a removed row).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_invalid_id: Option<String>,
    /// What is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Entries recorded but not yet chained when the check ended (changes that committed
    /// while it ran; the next check covers them).
    pub queued: u64,
}

impl From<ChainReport> for VerifyResponse {
    fn from(r: ChainReport) -> Self {
        Self {
            valid: r.valid,
            checked: r.checked,
            first_invalid_id: r.first_invalid_id.map(|id| id.to_string()),
            problem: r.problem,
            queued: r.queued,
        }
    }
}

/// Re-computes the tenant's hash chain (`audit:read`): detects an edited, removed or
/// re-ordered row.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    security(("bearer" = [])),
    responses(
        (status = 200, body = VerifyResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let report = state.audit.verify(&caller.0).await?;
    Ok(HttpResponse::Ok().json(VerifyResponse::from(report)))
}

/// The tenant's whole chain in order as JSON Lines, streamed (`audit:read`). Each line is a
/// `usvc_core::AuditRecord` (the archive format: the entry's fields, `origin` and `actor` as
/// stored, with `seq`, `prev_hash` and `hash`), so an export can be re-verified on its own
/// with `usvc_user::audit::ChainVerifier`.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One `AuditRecord` per line, oldest first: every entry chained when the export started", content_type = "application/x-ndjson",
            headers(("X-Audit-Queued" = u64, description = "Entries recorded but not yet chained as the export started (changes committing meanwhile): the next export covers them"))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let export = state.audit.export(&caller.0).await?;
    let queued = export.queued;
    let lines = export.rows.map(|row| match row {
        Ok(row) => {
            let mut line = serde_json::to_vec(&row)
                .map_err(|e| actix_web::error::ErrorInternalServerError(e.to_string()))?;
            line.push(b'\n');
            Ok::<_, actix_web::Error>(Bytes::from(line))
        }
        Err(e) => {
            // The status is sent already: end the body early; the chain shows it is cut.
            tracing::error!(error = %e, "audit export stopped");
            Err(actix_web::error::ErrorInternalServerError(e.to_string()))
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .insert_header(("X-Audit-Queued", queued.to_string()))
        .streaming(lines))
}
