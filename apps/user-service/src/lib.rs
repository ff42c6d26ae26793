//! The `user-service` application: HTTP, the command line and wiring, nothing else. Domain
//! logic lives in the domain crates, background work in `usvc-runtime`, storage in the store
//! adapters; this crate translates HTTP to use cases and puts the pieces together.
//!
//! - [`http`]: the actix-web inbound adapter — routes (`http/mod.rs`), one module per resource,
//!   problem+json errors, middleware, `/openapi.json`, health and metrics, the listener (TLS,
//!   draining on SIGTERM), and [`http::state::AppState`], what every handler can reach.
//! - [`cli`] and [`commands`]: `serve`, `migrate`, `config`, `admin …`.
//! - [`wiring`]: which adapter implements which port; the domain services, runtimes and
//!   cross-domain adapters built over them.
//! - [`startup`]: the tokio runtime and the logger as the configuration sets them.
//! - [`memory_release`]: hands memory freed under a load back to the system while idle.

pub mod cli;
pub mod commands;
pub mod http;
pub mod memory_release;
pub mod startup;
pub mod wiring;
