//! `Idempotency-Key`: a client's promise that two requests with the same key are one intent,
//! so a retry after a timeout replays the first answer instead of doing the work twice.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::{CoreError, TenantId, UserId};

/// How long a key is remembered (the IETF draft and Stripe both use a day).
pub const IDEMPOTENCY_WINDOW: Duration = Duration::hours(24);

/// The longest key accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// A request's key with the fingerprint of what it asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The header's value.
    pub key: String,
    /// A hash of the request body: the same key with another body is a client error, not
    /// a replay.
    pub fingerprint: String,
}

impl IdempotencyKey {
    /// A key of 1-255 visible ASCII characters (a UUID is typical).
    pub fn new(key: &str, fingerprint: String) -> Result<Self, CoreError> {
        if key.is_empty()
            || key.len() > MAX_IDEMPOTENCY_KEY
            || !key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(CoreError::invalid(
                "Idempotency-Key",
                format!("must be 1-{MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
            ));
        }
        Ok(Self {
            key: key.to_owned(),
            fingerprint,
        })
    }

    /// A key for a request whose parsed body is `body`: the fingerprint is the SHA-256 of
    /// its JSON form, so whitespace and field order in the sent text do not matter.
    pub fn for_request<T: serde::Serialize>(key: &str, body: &T) -> Result<Self, CoreError> {
        let json = serde_json::to_vec(body)
            .map_err(|e| CoreError::Internal(format!("request fingerprint: {e}")))?;
        Self::new(key, sha256_hex(&json))
    }
}

/// The SHA-256 of `bytes` in lower-case hex (audit chain hashes, request fingerprints).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// What a key already did: written in the transaction of the change it made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The caller's tenant.
    pub tenant: TenantId,
    /// The caller: keys of different users never collide.
    pub user: UserId,
    /// The operation (`projects.create`): one key may be used once per operation.
    pub scope: String,
    /// The key and the request's fingerprint.
    pub key: IdempotencyKey,
    /// What the first request created.
    pub resource_id: Uuid,
    /// When; the record counts for [`IDEMPOTENCY_WINDOW`] from then.
    pub created_at: DateTime<Utc>,
}
