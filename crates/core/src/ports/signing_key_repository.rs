use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::CoreError;

/// A token signing key as stored: the private half sealed by the `SecretBox`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSigningKey {
    /// Key id (`kid`).
    pub kid: String,
    /// JOSE algorithm (`EdDSA`).
    pub algorithm: String,
    /// The public key, base64url (the JWK `x`).
    pub public_key: String,
    /// The private key, sealed with context `jwt-key:<kid>`.
    pub sealed_private_key: Vec<u8>,
    /// When it was made; the newest live key signs.
    pub created_at: DateTime<Utc>,
    /// When it stopped verifying, if it has.
    pub retired_at: Option<DateTime<Utc>>,
}

/// Storage of signing keys, shared by every replica.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SigningKeyRepository: Send + Sync {
    /// Stores a new key.
    async fn insert(&self, key: &StoredSigningKey) -> Result<(), CoreError>;

    /// Every key not retired, newest first.
    async fn live(&self) -> Result<Vec<StoredSigningKey>, CoreError>;

    /// Retires the live keys created before `created_before`, except `keep`; returns how many.
    async fn retire_older(
        &self,
        created_before: DateTime<Utc>,
        keep: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, CoreError>;
}
