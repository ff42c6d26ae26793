use async_trait::async_trait;

use crate::{
    AuditEntry, BulkBatch, CoreError, IdempotencyRecord, Page, PageRequest, Project, ProjectFilter,
    ProjectId, ProjectMember, ProjectRole, ProjectVersion, TenantId, UserId,
};

/// Storage of projects, their members and their history, scoped by tenant. Every write is
/// one transaction with its version row, its audit row and, in the outbox, the event the
/// audit row describes (`DomainEvent::of_change`): a change, its record and its announcement
/// commit or roll back together.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ProjectRepository: Send + Sync {
    /// Stores a new project with its first member (the owner), version 1, the audit row and,
    /// for a request with an `Idempotency-Key`, the key's record, in one transaction. A name
    /// already used by a live project of the tenant (case-insensitively), a taken slug, or a
    /// key recorded meanwhile by a concurrent request is `Conflict` and writes nothing.
    async fn create(
        &self,
        project: &Project,
        owner: &ProjectMember,
        first: &ProjectVersion,
        audit: &AuditEntry,
        key: Option<IdempotencyRecord>,
    ) -> Result<(), CoreError>;

    /// A live (not deleted) project of the tenant.
    async fn get(&self, tenant: TenantId, id: ProjectId) -> Result<Option<Project>, CoreError>;

    /// The tenant's live projects among `ids`, in one read (the start of a bulk request).
    async fn get_many(
        &self,
        tenant: TenantId,
        ids: &[ProjectId],
    ) -> Result<Vec<Project>, CoreError>;

    /// Applies a bulk action in one transaction with a constant number of statements: locks
    /// the named projects, leaves alone those gone (`NotFound`), moved on past their
    /// `expected_version` (`PreconditionFailed`, versioned actions only), or where the
    /// membership change does not apply (`Conflict`: a member already, the owner of record;
    /// `NotFound`: not a member), and writes the rest with their history and audit rows.
    /// Returns the projects left alone with why. A user the action names who is not a live
    /// user of the tenant fails the whole batch (`NotFound`).
    async fn apply_bulk(
        &self,
        tenant: TenantId,
        batch: &BulkBatch,
    ) -> Result<Vec<(ProjectId, CoreError)>, CoreError>;

    /// The tenant's live projects matching `filter`, in creation order, a page at a time.
    async fn list(
        &self,
        tenant: TenantId,
        filter: ProjectFilter,
        page: PageRequest,
    ) -> Result<Page<Project>, CoreError>;

    /// Saves `project` (whose `version` is one more than `expected_version`) and its history
    /// entry, if the stored project is still at `expected_version`; `false` if it moved on or
    /// is gone. A name clash is `Conflict`.
    async fn update(
        &self,
        project: &Project,
        expected_version: i64,
        entry: &ProjectVersion,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError>;

    /// Deletes a live project (its history stays, its name is free again) if it is still at
    /// `expected_version`; `false` if it moved on or is gone.
    async fn delete(
        &self,
        tenant: TenantId,
        id: ProjectId,
        expected_version: i64,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError>;

    /// The project's history, newest first, a page at a time.
    async fn versions(
        &self,
        tenant: TenantId,
        id: ProjectId,
        page: PageRequest,
    ) -> Result<Page<ProjectVersion>, CoreError>;

    /// One entry of the project's history.
    async fn version(
        &self,
        tenant: TenantId,
        id: ProjectId,
        version: i64,
    ) -> Result<Option<ProjectVersion>, CoreError>;

    /// The project's members, strongest role first.
    async fn members(
        &self,
        tenant: TenantId,
        id: ProjectId,
    ) -> Result<Vec<ProjectMember>, CoreError>;

    /// Adds a live user of the tenant to a live project. `NotFound` if either is missing,
    /// `Conflict` if the user is a member already.
    async fn add_member(
        &self,
        tenant: TenantId,
        member: &ProjectMember,
        audit: &AuditEntry,
    ) -> Result<(), CoreError>;

    /// Changes a member's role; `false` if the user is not a member (or the project is gone).
    /// Without `owner_powers` an owner's role is left alone (`Forbidden`), checked under the
    /// project's lock, whatever role the caller saw.
    /// `Conflict` if the project's owner of record (`owner_id`) would lose the owner role, so
    /// a project always keeps an owner. Changes to one project's members are serialised, so two
    /// owners demoting each other cannot both win.
    async fn set_member_role(
        &self,
        tenant: TenantId,
        id: ProjectId,
        user: UserId,
        role: ProjectRole,
        owner_powers: bool,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError>;

    /// Removes a member; `false` if the user is not a member. `Conflict` for the owner of
    /// record; without `owner_powers`, `Forbidden` for any owner.
    async fn remove_member(
        &self,
        tenant: TenantId,
        id: ProjectId,
        user: UserId,
        owner_powers: bool,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError>;

    /// A user's role on a project, if they are a member (what the authorizer asks).
    async fn member_role(
        &self,
        tenant: TenantId,
        id: ProjectId,
        user: UserId,
    ) -> Result<Option<ProjectRole>, CoreError>;
}
