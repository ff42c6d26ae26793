//! `usvc-project`: the project domain — projects, members with project roles, version history
//! with restore, and bulk operations.
//!
//! Like every domain crate it depends only on `usvc-core`: authorization goes through the
//! `Authorizer` port, storage through repository ports. Its services arrive with the projects
//! issue; the crate exists now so the workspace has its final shape and the dependency rule is
//! checked from the start.
