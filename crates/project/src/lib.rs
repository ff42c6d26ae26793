//! `usvc-project`: the project domain — projects, members with project roles, version history
//! with restore, and bulk operations.
//!
//! Like every domain crate it depends only on `usvc-core`: authorization goes through the
//! `Authorizer` port, storage through the `ProjectRepository` port. So far it holds the
//! validation of a project's fields and the diff between two versions; the service and its
//! endpoints come next in the projects issue.

pub mod diff;
pub mod fields;

pub use diff::{diff, FieldChange};
pub use fields::ProjectFields;
