//! Domain events: facts a domain announces (`project.created`) for the outbox, webhooks and
//! workflow event triggers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Actor, AuditEntry, TenantId, UserId};

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

impl DomainEvent {
    /// The event announcing the change `audit` records: its action is the event type, its
    /// details the payload, with the resource's id as `<type>_id` (`project_id`). Repositories
    /// stage it in the outbox in the change's own transaction.
    pub fn of_change(audit: &AuditEntry) -> Self {
        let mut payload = match &audit.details {
            serde_json::Value::Object(map) => map.clone(),
            serde_json::Value::Null => serde_json::Map::new(),
            other => {
                let mut map = serde_json::Map::new();
                map.insert("details".into(), other.clone());
                map
            }
        };
        if let Some(resource) = &audit.resource {
            if let Some(id) = &resource.id {
                payload.insert(format!("{}_id", resource.kind), id.clone().into());
            }
        }
        let actor = match audit.actor {
            Actor::User { id, .. } => Some(id),
            Actor::System | Actor::Anonymous => None,
        };
        Self::new(
            audit.tenant,
            audit.action.clone(),
            audit.at,
            actor,
            serde_json::Value::Object(payload),
        )
    }
}
