//! The memory ceiling (issue 17, point 3): a server of its own takes a login flood, then a
//! profile load that fills the user-profiles cache, then idles; its resident memory is read
//! after each. Run once with the per-IP login limit off (the hashing queue answers what it
//! cannot take with 429) and once with it on (the limiter answers almost every login 429
//! before any hashing): the two ways a flood is turned away keep different memory.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;

use crate::load::{self, Plan};
use crate::scenarios;
use crate::server::{self, Server};

/// How long each phase lasts.
#[derive(Debug, Clone, Copy)]
pub struct Phases {
    /// The login flood (64 connections).
    pub flood: Duration,
    /// The full-cache profile load (64 connections).
    pub profiles: Duration,
    /// The idle wait before the last reading.
    pub idle: Duration,
}

/// What one run read, in MB (and threads after the flood).
#[derive(Debug, Clone, Copy)]
pub struct Ceiling {
    /// Resident memory right after the login flood.
    pub after_flood: f64,
    /// Threads right after the login flood.
    pub threads_after_flood: u64,
    /// Resident memory right after the profile load.
    pub after_profiles: f64,
    /// Resident memory after idling.
    pub after_idle: f64,
    /// Peak resident memory of the run.
    pub peak: f64,
}

/// The per-IP limit the "on" run sets: the service's default (`AUTH_RATE_LIMIT=300`).
pub const LIMIT_ON: u32 = 300;

/// Connections of the flood and of the profile load.
pub const CONNECTIONS: usize = 64;

/// Runs the three phases against a new server on an empty store (`postgres`: as the suite's
/// server) with `AUTH_RATE_LIMIT=limit`.
pub async fn measure(
    binary: &Path,
    postgres: Option<&str>,
    limit: u32,
    phases: Phases,
) -> anyhow::Result<Ceiling> {
    let server = Server::start(binary, postgres, limit).await?;
    // Logged in before the flood: with the limit on, a login after it would wait out the
    // limiter's window.
    let (bearer, _) = load::log_in(&server.target, &server::credentials()).await?;
    let plan = |scenario: &str, duration: Duration| -> anyhow::Result<Plan> {
        Ok(Plan {
            target: server.target.clone(),
            scenario: scenarios::find(scenario)?,
            baseline: None,
            connections: CONNECTIONS,
            duration,
            requests: None,
            warmup: Duration::ZERO,
            credentials: server::credentials(),
            database_url: Some(server.database_url.clone()),
            bearer: Some(bearer.clone()),
        })
    };
    // Turned-away logins (429, 503) are what a flood gets: they are not this run's figures.
    load::run(&plan("login", phases.flood)?)
        .await
        .context("the login flood")?;
    let (after_flood, _) = server.memory_mb()?;
    let threads_after_flood = server.threads()?;
    let profiles = load::run(&plan("lookup-full", phases.profiles)?)
        .await
        .context("the full-cache profile load")?;
    anyhow::ensure!(
        profiles.scenario.errors == 0,
        "{} profile lookups failed: {:?}",
        profiles.scenario.errors,
        profiles.scenario.failures
    );
    let (after_profiles, _) = server.memory_mb()?;
    tokio::time::sleep(phases.idle).await;
    let (after_idle, peak) = server.memory_mb()?;
    Ok(Ceiling {
        after_flood,
        threads_after_flood,
        after_profiles,
        after_idle,
        peak,
    })
}
