//! The HTTP server and its graceful shutdown.

use std::net::SocketAddr;

use actix_web::HttpServer;
use usvc_config::Config;

use crate::http::build_app;
use crate::state::AppState;

/// Serves until SIGTERM or SIGINT, then stops accepting, lets in-flight requests finish (up to
/// `SHUTDOWN_TIMEOUT`) and returns. Prints `listening on http://ADDR` to stdout once bound, so
/// scripts and tests can find a `PORT=0` server.
pub async fn run(config: &Config, state: AppState) -> anyhow::Result<()> {
    let max_body = config.max_body_bytes;
    let backend = state.db.backend;
    let server = HttpServer::new(move || build_app(state.clone(), max_body))
        .workers(config.workers)
        .shutdown_timeout(config.shutdown_timeout.as_secs())
        .disable_signals()
        .bind((config.host, config.port))?;
    let addrs: Vec<SocketAddr> = server.addrs();
    let server = server.run();
    let handle = server.handle();
    for addr in &addrs {
        tracing::info!(%addr, backend, workers = config.workers, "listening");
        println!("listening on http://{addr}");
    }
    tokio::spawn(async move {
        let signal = shutdown_signal().await;
        tracing::info!(signal, "shutting down: finishing in-flight requests");
        handle.stop(true).await;
    });
    server.await?;
    tracing::info!("stopped");
    Ok(())
}

/// Waits for SIGTERM (orchestrators) or SIGINT (Ctrl-C) and names it.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            }
        } else {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}
