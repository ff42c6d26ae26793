//! The `user-service` application: the actix-web inbound adapter (routes, DTOs, problem+json
//! errors, middleware), the CLI and the wiring of ports to adapters. Domain logic lives in the
//! domain crates; this crate only translates between HTTP and them.

pub mod acting;
pub mod audit_batch;
pub mod blocking_pool;
pub mod cli;
pub mod commands;
pub mod events;
pub mod external_apis;
pub mod http;
pub mod identity;
pub mod keys;
pub mod lifecycle;
pub mod metrics_registry;
pub mod outbox_relay;
pub mod panics;
pub mod process_stats;
pub mod runtime;
pub mod state;
pub mod tls;
pub mod wiring;
pub mod workflow_projects;
pub mod workflow_triggers;
pub mod workflow_worker;
