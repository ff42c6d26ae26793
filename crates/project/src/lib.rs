//! `usvc-project`: the project domain — projects, members with project roles, version history
//! with restore, and bulk operations.
//!
//! Like every domain crate it depends only on `usvc-core`: authorization goes through the
//! `Authorizer` port, storage through the `ProjectRepository` port. Its input shape, the
//! editable fields with their rules (`ProjectFields`), lives in `usvc-core` because workflow
//! steps send it too; here are the diff between two versions and the `ProjectService` (create, read,
//! list, change, archive, delete), collaboration (`members`), history (`history`) and bulk
//! operations (`bulk`), each in its own module.

pub mod bulk;
pub mod diff;
pub mod history;
pub mod members;
pub mod service;

pub use bulk::BulkOutcome;
pub use diff::{diff, FieldChange};
pub use service::{ProjectPorts, ProjectService};
pub use usvc_core::project_fields::{self as fields, FieldsUse, ProjectFields};
