//! Domain events: facts a domain announces (`project.created`) for the outbox, webhooks and
//! workflow event triggers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{TenantId, UserId};

/// Something that happened in a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    /// Unique event id (UUID v7), so consumers can de-duplicate at-least-once deliveries.
    pub id: Uuid,
    /// The tenant the event belongs to; consumers in other tenants never see it.
    pub tenant: TenantId,
    /// Dotted type name, `resource.past_tense_verb` (`project.created`).
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Who caused it, if a user did.
    pub actor: Option<UserId>,
    /// Event-specific data.
    pub payload: serde_json::Value,
}

impl DomainEvent {
    /// A new event with a fresh id.
    pub fn new(
        tenant: TenantId,
        kind: impl Into<String>,
        occurred_at: DateTime<Utc>,
        actor: Option<UserId>,
        payload: serde_json::Value,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            tenant,
            kind: kind.into(),
            occurred_at,
            actor,
            payload,
        }
    }
}
