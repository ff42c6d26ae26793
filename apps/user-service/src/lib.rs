//! The `user-service` application: the actix-web inbound adapter (routes, DTOs, problem+json
//! errors, middleware), the CLI and the wiring of ports to adapters. Domain logic lives in the
//! domain crates; this crate only translates between HTTP and them.

pub mod cli;
pub mod commands;
pub mod external_apis;
pub mod http;
pub mod lifecycle;
pub mod metrics_registry;
pub mod process_stats;
pub mod startup;
pub mod tls;
pub mod wiring;
