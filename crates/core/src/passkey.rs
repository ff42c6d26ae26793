//! Passkeys (WebAuthn credentials): a user's way to sign in with a device instead of a
//! password, or after it as the second factor (docs/passkeys.md). The credential's public key
//! and counters are the WebAuthn adapter's business, kept here as opaque JSON.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{PasskeyId, TenantId, UserId};

/// A registered passkey of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passkey {
    /// Stable id (what the API names it by).
    pub id: PasskeyId,
    /// The user's tenant.
    pub tenant_id: TenantId,
    /// Whose it is.
    pub user_id: UserId,
    /// What the user calls it ("Work laptop"), 1-64 characters.
    pub name: String,
    /// The authenticator's credential id (base64url), unique across the service.
    pub credential_id: String,
    /// The credential as the WebAuthn adapter keeps it (public key, algorithm, counter,
    /// backup state): opaque here.
    pub credential: serde_json::Value,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last signed the user in.
    pub last_used_at: Option<DateTime<Utc>>,
}
