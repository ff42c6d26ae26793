//! Serving or draining: what SIGTERM changes before the listener closes.
//!
//! A load balancer keeps sending requests to a replica until its health check says otherwise.
//! Closing the listener at once on SIGTERM would refuse (or reset) requests already on their
//! way, and a reset after a POST was sent cannot be retried safely. So the server first
//! *drains*: `/health` and `/health/ready` answer 503 `draining` while every request is still
//! served, for `SHUTDOWN_DRAIN` seconds, long enough for the balancer's checks to take the
//! replica out; only then does it stop accepting and finish what is in flight
//! (`docs/operations.md`, "Rolling restarts").

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether this process has begun to shut down.
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
}

impl Lifecycle {
    /// From now on the health endpoints say `draining`.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether [`Self::start_draining`] was called.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}
