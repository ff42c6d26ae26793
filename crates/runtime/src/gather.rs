//! How the background loops (outbox relay, trigger loop, audit sequencer) batch under load.
//!
//! Each is woken by the commits that leave it work. Woken, it runs at once, so a lone change
//! is relayed, triggered and chained without delay. But a pass that found work is followed
//! by [`GATHER`] before the next: under a steady stream of writes the next pass then takes
//! everything that committed meanwhile in one claim (dozens of events, one chaining
//! transaction per tenant) instead of one pass, with its several round trips, per change.
//! On Postgres those passes had cost the database more than the writes themselves
//! (docs/benchmarks.md, "The suite").

use std::time::Duration;

/// The pause after a pass that found work.
pub(crate) const GATHER: Duration = Duration::from_millis(10);

/// Waits [`GATHER`] when the pass before found work; returns at once otherwise.
pub(crate) async fn after_pass(found_work: bool) {
    if found_work {
        tokio::time::sleep(GATHER).await;
    }
}
