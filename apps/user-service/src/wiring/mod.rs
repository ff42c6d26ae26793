//! Wiring: which adapter implements which port, and how the domains and runtimes are put
//! together over them. Everything here runs once at start (or per CLI command); nothing here
//! knows HTTP.
//!
//! - [`database`]: `DATABASE_URL`'s scheme picks SQLite or Postgres; the rest sees ports.
//! - [`keys`]: the master key and the access-token key ring as the configuration sets them.
//! - [`services`]: the identity, project and workflow-definition services over one set of
//!   caches, with the event bus, outbox relay and audit group commit of `usvc-runtime`.
//! - [`workflows`]: the workflow engine, its worker and trigger loop.
//! - [`acting`] and [`workflow_projects`]: the ports through which a workflow acts as a
//!   person on projects (cross-domain adapters: the workflow domain never imports the others).

pub mod acting;
pub mod database;
pub mod keys;
pub mod services;
pub mod workflow_projects;
pub mod workflows;

pub use database::{connect, migrate, Database};
