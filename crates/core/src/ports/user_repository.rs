use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    AuditEntry, CoreError, Email, Page, PageRequest, SessionId, TenantId, User, UserFilter, UserId,
};

/// What a versioned user update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Stored.
    Updated,
    /// The user changed since it was read (or is gone): read again and re-apply.
    Stale,
    /// Refused: the tenant would have no active owner left.
    LastOwner,
}

/// Storage of users and their password credentials. Every call is scoped by tenant: a user id
/// of another tenant is simply not found. Erased (deleted) users are never returned.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a user and, if given, its password hash, in one transaction. An email already
    /// used in the tenant (case-insensitively) is `Conflict` and writes nothing.
    async fn create(
        &self,
        user: &User,
        password_hash: Option<String>,
        audit: &AuditEntry,
    ) -> Result<(), CoreError>;

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
        audit: &AuditEntry,
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

    /// Saves the profile fields, email, roles and status of an existing user (matched by
    /// tenant and id) if it is still the version read (`expected_updated_at`); MFA state is
    /// not written here (the `MfaRepository` owns it). With `keep_an_owner` the write is
    /// refused when it would leave the tenant without an active owner — checked in the same
    /// transaction, serialised per tenant, so two owners demoting each other cannot both win.
    async fn update(
        &self,
        user: &User,
        expected_updated_at: DateTime<Utc>,
        keep_an_owner: bool,
        audit: &AuditEntry,
    ) -> Result<UpdateOutcome, CoreError>;

    /// The tenant's users matching `filter`, in id (creation) order, one page at a time.
    async fn list(
        &self,
        tenant: TenantId,
        filter: UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, CoreError>;

    /// The users with these ids in this tenant, in one query; unknown ids are left out.
    async fn get_many(&self, tenant: TenantId, ids: Vec<UserId>) -> Result<Vec<User>, CoreError>;

    /// Which of these normalised emails are already taken in the tenant (the import checks a
    /// whole batch with one query).
    async fn taken_emails(
        &self,
        tenant: TenantId,
        emails: Vec<String>,
    ) -> Result<Vec<String>, CoreError>;

    /// Stores many users (each with an optional password hash) in one transaction: all of them
    /// or, on any clash, none (`Conflict`).
    async fn create_many(
        &self,
        users: Vec<(User, Option<String>)>,
        audit: &AuditEntry,
    ) -> Result<(), CoreError>;

    /// Erases a user in one transaction: personal data removed (email, names, metadata,
    /// credentials, second factors, passkeys), status disabled, every live session revoked;
    /// the id stays for history. Returns the revoked sessions, or `NotFound`; with
    /// `keep_an_owner`, `Conflict` if the tenant would be left without an active owner.
    async fn erase(
        &self,
        tenant: TenantId,
        id: UserId,
        now: DateTime<Utc>,
        keep_an_owner: bool,
        audit: &AuditEntry,
    ) -> Result<Vec<SessionId>, CoreError>;
}
