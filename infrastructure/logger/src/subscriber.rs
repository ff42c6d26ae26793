use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::otlp;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Readable, coloured when on a terminal (development).
    Pretty,
    /// One JSON object per line with span fields (production, log collectors).
    Json,
}

/// What [`init`] needs.
#[derive(Debug, Clone)]
pub struct LoggerConfig {
    /// Line format.
    pub format: LogFormat,
    /// Minimum level (`info`, …). `RUST_LOG`, when set, refines it per module.
    pub level: String,
    /// OTLP/HTTP base URL (`http://collector:4318`); `None` disables span export.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of exported spans.
    pub service_name: String,
}

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoggerError {
    /// The OTLP exporter could not be built (bad endpoint).
    #[error("cannot export traces: {0}")]
    Otlp(String),
    /// A global subscriber was already installed.
    #[error("logging was already initialised: {0}")]
    AlreadyInitialised(String),
}

/// Keeps the span exporter alive; dropping it flushes the spans still buffered.
#[must_use = "dropping the guard stops span export"]
pub struct LoggerGuard {
    provider: Option<SdkTracerProvider>,
}

impl LoggerGuard {
    /// Sends buffered spans now (before exit, or in tests).
    pub fn flush(&self) {
        if let Some(provider) = &self.provider {
            if let Err(e) = provider.force_flush() {
                tracing::warn!(error = %e, "flushing spans failed");
            }
        }
    }
}

impl Drop for LoggerGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

/// Builds the subscriber without installing it (tests install it for one scope only).
pub fn build(
    config: &LoggerConfig,
) -> Result<(impl tracing::Subscriber + Send + Sync, LoggerGuard), LoggerError> {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new(&config.level));
    let lines = match config.format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let (otel, provider) = match &config.otlp_endpoint {
        Some(endpoint) => {
            let (layer, provider) = otlp::layer(endpoint, &config.service_name)?;
            (Some(layer), Some(provider))
        }
        None => (None, None),
    };
    // LOG_LEVEL (or RUST_LOG) filters the log lines only: spans at info and above are
    // exported whatever the log level, so quieting the logs does not blind the traces.
    let subscriber = Registry::default()
        .with(lines.with_filter(filter))
        .with(otel.with_filter(LevelFilter::INFO));
    Ok((subscriber, LoggerGuard { provider }))
}

/// Installs the process-wide subscriber. Call once, before the async runtime starts.
pub fn init(config: &LoggerConfig) -> Result<LoggerGuard, LoggerError> {
    let (subscriber, guard) = build(config)?;
    subscriber
        .try_init()
        .map_err(|e| LoggerError::AlreadyInitialised(e.to_string()))?;
    Ok(guard)
}
