use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{CoreError, Email, TenantId, User, UserId};

/// Storage of users and their password credentials. Every call is scoped by tenant: a user id
/// of another tenant is simply not found.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a user and, if given, its password hash, in one transaction. An email already
    /// used in the tenant (case-insensitively) is `Conflict` and writes nothing.
    async fn create(&self, user: &User, password_hash: Option<String>) -> Result<(), CoreError>;

    /// The user with this id in this tenant.
    async fn get(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, CoreError>;

    /// The user with this email (case-insensitive) in this tenant, with its password hash.
    async fn find_for_login(
        &self,
        tenant: TenantId,
        email: &Email,
    ) -> Result<Option<(User, Option<String>)>, CoreError>;

    /// Replaces the password hash (a password change, or a re-hash at stronger parameters).
    async fn set_password_hash(
        &self,
        tenant: TenantId,
        id: UserId,
        hash: String,
        now: DateTime<Utc>,
    ) -> Result<(), CoreError>;

    /// Records a successful login.
    async fn record_login(
        &self,
        tenant: TenantId,
        id: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), CoreError>;

    /// How many users the tenant has (`None`: all tenants).
    async fn count(&self, tenant: Option<TenantId>) -> Result<u64, CoreError>;
}
