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

use std::sync::Arc;

use usvc_core::ports::{Clock, Notifier, PasswordHasher, SecretBox, WebAuthn};
use usvc_security::JwtService;

/// The adapters the domains run over, chosen once: by `serve` from the configuration, or by
/// a test (a fixed clock, a mailbox instead of SMTP).
#[derive(Clone)]
pub struct Adapters {
    /// The store behind its ports.
    pub db: Database,
    /// Access tokens and the JWKS (the key ring, started).
    pub tokens: Arc<JwtService>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Secrets at rest under the master key.
    pub secrets: Arc<dyn SecretBox>,
    /// Mail.
    pub notifier: Arc<dyn Notifier>,
    /// The one source of time of every domain, runtime and handler.
    pub clock: Arc<dyn Clock>,
    /// The WebAuthn relying party of `PUBLIC_URL`; `None` (with a warning) when it names an
    /// IP address: passkeys are then unavailable, everything else works.
    pub webauthn: Option<Arc<dyn WebAuthn>>,
}

/// What `serve` starts before it serves: the store (migrated), the key ring (its first key
/// on a fresh database), the password hasher and the first-start owner. Tests build their
/// apps through this too, with their own clock, master key and mailbox.
pub async fn start(
    config: &usvc_config::Config,
    clock: Arc<dyn Clock>,
    secrets: Arc<dyn SecretBox>,
    notifier: Arc<dyn Notifier>,
) -> anyhow::Result<Adapters> {
    let db = connect(config, clock.clone()).await?;
    let tokens = keys::start(
        config,
        clock.clone(),
        db.signing_keys.clone(),
        secrets.clone(),
        db.invalidation.as_ref(),
    )
    .await?;
    let hasher = services::hasher()?;
    services::bootstrap(config, &db, &hasher, &clock).await?;
    Ok(Adapters {
        db,
        tokens,
        hasher,
        secrets,
        notifier,
        clock,
        webauthn: services::relying_party(config),
    })
}
