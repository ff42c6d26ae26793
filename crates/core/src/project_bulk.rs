//! Bulk project changes: one action over up to [`MAX_BULK`] projects, written in one
//! transaction with a constant number of statements, each project answered on its own.

use chrono::{DateTime, Utc};

use crate::{AuditEntry, ProjectId, ProjectRole, ProjectVersion, UserId};

/// The most projects one bulk request may name.
pub const MAX_BULK: usize = 1000;

/// What a bulk request does to every project it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    /// Make read-only.
    Archive,
    /// Make changeable again.
    Unarchive,
    /// Soft-delete (history stays).
    Delete,
    /// Make `to` the owner of record, with the owner role (added as a member if need be).
    /// Other members, the previous owner included, keep their roles.
    TransferOwner {
        /// The new owner, a live user of the tenant.
        to: UserId,
    },
    /// Add `user` with `role`.
    AddMember {
        /// A live user of the tenant.
        user: UserId,
        /// Their project role.
        role: ProjectRole,
    },
    /// Remove `user`.
    RemoveMember {
        /// The member to remove.
        user: UserId,
    },
}

impl BulkAction {
    /// Whether the action writes a new version of each project (the others change
    /// membership, which is not part of a project's fields).
    pub fn is_versioned(self) -> bool {
        matches!(
            self,
            Self::Archive | Self::Unarchive | Self::Delete | Self::TransferOwner { .. }
        )
    }
}

/// One project's part of a batch, prepared (and authorized) by the domain.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkItem {
    /// The project.
    pub id: ProjectId,
    /// The version the domain read and decided on; a project that moved on since is left
    /// alone and reported as changed.
    pub expected_version: i64,
    /// For versioned actions except delete: the new version's history entry (its snapshot
    /// is the project after the change).
    pub entry: Option<ProjectVersion>,
    /// The audit row, written only if the project is changed.
    pub audit: AuditEntry,
    /// Whether the caller holds the owner's powers on this project. Without them a
    /// membership action leaves an owner alone (`Forbidden`), checked under the lock.
    pub owner_powers: bool,
}

/// The projects a bulk action applies to, all of one tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkBatch {
    /// What to do.
    pub action: BulkAction,
    /// The time of the change (`updated_at`, `archived_at`, `deleted_at`).
    pub at: DateTime<Utc>,
    /// The projects, each at most once.
    pub items: Vec<BulkItem>,
}
