use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{CoreError, Page, PageRequest, Task, TaskAudience, TaskId, TaskStatus, TenantId};

/// Reading human tasks. Tasks are written only with their execution, through
/// `ExecutionRepository::change` (a task and its step change together).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TaskRepository: Send + Sync {
    /// One task of the tenant.
    async fn get(&self, tenant: TenantId, id: TaskId) -> Result<Option<Task>, CoreError>;

    /// The tenant's tasks, newest first, a page at a time: only those for `audience` (its
    /// user, or one of its roles) when given, only of `status` when given.
    async fn list(
        &self,
        tenant: TenantId,
        audience: Option<TaskAudience>,
        status: Option<TaskStatus>,
        page: PageRequest,
    ) -> Result<Page<Task>, CoreError>;

    /// How many of the tenant's tasks are open, and how many of those are past due at `now`.
    async fn open_counts(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
    ) -> Result<(u64, u64), CoreError>;
}
