//! `usvc-logger` (CoreLogger): how the service logs, traces and times its operations.
//!
//! - [`init`] installs one `tracing` subscriber: readable lines in development, one JSON object
//!   per line in production, filtered by `LOG_LEVEL`, plus an OpenTelemetry OTLP/HTTP span
//!   exporter when an endpoint is configured. Span fields (the HTTP layer's `request_id`) are
//!   part of every line logged inside the span.
//! - [`OperationTimer`] / [`timed`] (the seed's CorePerformance) record
//!   `usvc_operation_duration_seconds{operation}` through the `metrics` facade.

mod otlp;
mod subscriber;
mod timer;

pub use subscriber::{build, init, LogFormat, LoggerConfig, LoggerError, LoggerGuard};
pub use timer::{timed, OperationTimer, OPERATION_DURATION};
