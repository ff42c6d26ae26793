//! `usvc-project`: the project domain — projects, members with project roles, version history
//! with restore, and bulk operations.
//!
//! Like every domain crate it depends only on `usvc-core`: authorization goes through the
//! `Authorizer` port, storage through the `ProjectRepository` port. It holds the validation
//! of a project's fields, the diff between two versions and the `ProjectService` (create, read,
//! list, change, archive, delete), collaboration (`members`), history (`history`) and bulk
//! operations (`bulk`), each in its own module.

pub mod bulk;
pub mod diff;
pub mod fields;
pub mod history;
pub mod members;
pub mod service;

pub use bulk::BulkOutcome;
pub use diff::{diff, FieldChange};
pub use fields::ProjectFields;
pub use service::{ProjectPorts, ProjectService};
