use async_trait::async_trait;

use crate::{
    AuditEntry, CoreError, Page, PageRequest, TenantId, Workflow, WorkflowId, WorkflowStatus,
    WorkflowTrigger, WorkflowVersion,
};

/// Storage of workflow definitions and their versions, scoped by tenant. Every write is one
/// transaction with its audit row and, in the outbox, the event the audit row describes.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait WorkflowRepository: Send + Sync {
    /// Stores a new workflow with its version 1, its triggers (what event and schedule
    /// triggers look up), the audit row and its event.
    async fn create(
        &self,
        workflow: &Workflow,
        triggers: &[WorkflowTrigger],
        audit: &AuditEntry,
    ) -> Result<(), CoreError>;

    /// A live (not deleted) workflow of the tenant at its current version.
    async fn get(&self, tenant: TenantId, id: WorkflowId) -> Result<Option<Workflow>, CoreError>;

    /// The tenant's live workflows, oldest first, a page at a time.
    async fn list(&self, tenant: TenantId, page: PageRequest) -> Result<Page<Workflow>, CoreError>;

    /// Saves `workflow` as its new version (`version` one more than `expected_version`) with
    /// the version row and its triggers (replacing the previous version's), if the stored
    /// workflow is still at `expected_version`; `false` if it moved on or is gone.
    async fn update(
        &self,
        workflow: &Workflow,
        expected_version: i64,
        triggers: &[WorkflowTrigger],
        audit: &AuditEntry,
    ) -> Result<bool, CoreError>;

    /// Sets a live workflow's status (no new version); `false` if it is gone. Resuming
    /// forgets the schedules' planned ticks, so a resumed schedule fires from now on, not
    /// for the ticks it missed while paused.
    async fn set_status(
        &self,
        tenant: TenantId,
        id: WorkflowId,
        status: WorkflowStatus,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError>;

    /// Deletes a live workflow: it leaves listings and starts nothing more, while its
    /// versions stay for the executions pinned to them. `false` if it was gone already.
    async fn delete(
        &self,
        tenant: TenantId,
        id: WorkflowId,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError>;

    /// A workflow's versions, newest first, a page at a time.
    async fn versions(
        &self,
        tenant: TenantId,
        id: WorkflowId,
        page: PageRequest,
    ) -> Result<Page<WorkflowVersion>, CoreError>;

    /// One version of a workflow, deleted or not (what a pinned execution runs).
    async fn version(
        &self,
        tenant: TenantId,
        id: WorkflowId,
        version: i64,
    ) -> Result<Option<WorkflowVersion>, CoreError>;
}
