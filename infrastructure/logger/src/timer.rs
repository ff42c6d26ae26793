//! Operation timing (the seed's CorePerformance).

use std::future::Future;
use std::time::Instant;

/// The histogram every timed operation records into, labelled by `operation`.
pub const OPERATION_DURATION: &str = "usvc_operation_duration_seconds";

/// Times one operation from creation until [`OperationTimer::finish`] or drop, so an early
/// return or an error is timed too.
pub struct OperationTimer {
    operation: &'static str,
    started: Instant,
    recorded: bool,
}

impl OperationTimer {
    /// Starts timing `operation` (a stable, low-cardinality name such as `tenant.create`).
    pub fn start(operation: &'static str) -> Self {
        Self {
            operation,
            started: Instant::now(),
            recorded: false,
        }
    }

    /// Records the duration now and returns it in seconds.
    pub fn finish(mut self) -> f64 {
        self.record()
    }

    fn record(&mut self) -> f64 {
        let seconds = self.started.elapsed().as_secs_f64();
        if !self.recorded {
            self.recorded = true;
            metrics::histogram!(OPERATION_DURATION, "operation" => self.operation).record(seconds);
        }
        seconds
    }
}

impl Drop for OperationTimer {
    fn drop(&mut self) {
        self.record();
    }
}

/// Runs `work`, recording its duration under `operation`.
pub async fn timed<F: Future>(operation: &'static str, work: F) -> F::Output {
    let timer = OperationTimer::start(operation);
    let output = work.await;
    timer.finish();
    output
}
