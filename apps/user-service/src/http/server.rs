//! The HTTP server and its graceful shutdown.

use std::net::SocketAddr;

use actix_web::HttpServer;
use usvc_config::Config;

use crate::http::state::AppState;
use crate::http::{build_app, routes};

/// Serves until SIGTERM or SIGINT, then drains for `SHUTDOWN_DRAIN` (health says `draining`,
/// requests are still served: `crate::http::lifecycle`), stops accepting, lets in-flight requests
/// finish (up to `SHUTDOWN_TIMEOUT`) and returns. A second signal cuts the drain short.
/// Prints `listening on http://ADDR` (`https://` with `TLS_CERT`) to stdout once bound, so
/// scripts and tests can find a `PORT=0` server.
pub async fn run(config: &Config, state: AppState) -> anyhow::Result<()> {
    // Register the signal handlers before announcing the address: a SIGTERM right after
    // "listening" must drain, not kill.
    let mut signals = Signals::install()?;
    let max_body = config.max_body_bytes;
    let backend = state.db.backend;
    let worker = state.worker.clone();
    let triggers = state.triggers.clone();
    let lifecycle = state.lifecycle.clone();
    let drain = config.shutdown_drain;
    let tls = config
        .tls
        .as_ref()
        .map(|(cert, key)| crate::http::tls::server_config(cert, key))
        .transpose()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let server = HttpServer::new(move || build_app(state.clone(), max_body, routes))
        .workers(config.workers)
        .shutdown_timeout(config.shutdown_timeout.as_secs())
        .disable_signals();
    let server = match tls {
        Some(tls) => server.bind_rustls_0_23((config.host, config.port), tls)?,
        None => server.bind((config.host, config.port))?,
    };
    let addrs: Vec<SocketAddr> = server.addrs();
    let server = server.run();
    let handle = server.handle();
    for addr in &addrs {
        tracing::info!(%addr, backend, workers = config.workers, scheme, "listening");
        println!("listening on {scheme}://{addr}");
    }
    tokio::spawn(async move {
        let signal = signals.recv().await;
        if !drain.is_zero() {
            lifecycle.start_draining();
            tracing::info!(
                signal,
                drain_seconds = drain.as_secs(),
                "draining: health says draining, requests are still served"
            );
            tokio::select! {
                () = tokio::time::sleep(drain) => {}
                again = signals.recv() => tracing::info!(signal = again, "drain cut short"),
            }
        }
        tracing::info!(signal, "shutting down: finishing in-flight requests");
        handle.stop(true).await;
    });
    let outcome = server.await;
    triggers.stop().await;
    worker.shutdown().await;
    outcome?;
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM (orchestrators) and SIGINT (Ctrl-C), registered at once when installed.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// Waits for the first of them and names it.
    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}
