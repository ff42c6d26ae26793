//! `usvc-logger` (CoreLogger): how the service logs, traces and times its operations.
//!
//! - [`init`] installs one `tracing` subscriber: readable lines in development, one JSON object
//!   per line in production, filtered by `LOG_LEVEL`, plus an OpenTelemetry OTLP/HTTP span
//!   exporter when an endpoint is configured. Span fields (the HTTP layer's `request_id`) are
//!   part of every line logged inside the span.
//! - [`OperationTimer`] / [`timed`] (the seed's CorePerformance) record
//!   `usvc_operation_duration_seconds{operation}` through the `metrics` facade.
//! - [`caught`] stops a panic at the task it happens in (a request, a workflow step, one pass
//!   of a background loop), logs it and counts it on `usvc_panics_total{task}`.

mod otlp;
mod panics;
mod subscriber;
mod timer;

pub use panics::{caught, message as panic_message};
pub use subscriber::{build, init, LogFormat, LoggerConfig, LoggerError, LoggerGuard};
pub use timer::{timed, OperationTimer, OPERATION_DURATION};
