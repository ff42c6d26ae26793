//! Custom roles: a tenant's own named sets of actions, beside the built-in roles.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Action, RoleId, TenantId};

/// A custom role as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Role {
    /// Stable id.
    pub id: RoleId,
    /// The tenant that defined it.
    pub tenant_id: TenantId,
    /// The name users are assigned by (unique in the tenant, never a built-in name).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The actions it grants, from the catalogue.
    pub permissions: Vec<Action>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}
