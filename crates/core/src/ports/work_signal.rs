use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::ExecutionState;

/// Slots a worker of this process holds for the steps a caller claims under `lease` in its
/// own transaction (a start taking its first steps): the worker runs them the moment that
/// transaction commits, with no claim of its own (issue 17).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOffer {
    /// The lease token to claim the steps under (`<worker>/<claim id>`).
    pub lease: String,
    /// Until when the lease holds.
    pub until: DateTime<Utc>,
    /// How many steps at most (the slots held).
    pub at_most: usize,
    /// How long the taker may spend running, before its transaction commits, the pure steps
    /// it takes and what they unlock, to record them in that transaction (ADR 0033); zero:
    /// it runs none.
    pub pure_budget: std::time::Duration,
}

/// Tells the workflow workers that steps became ready (an execution started, a task was
/// completed), so they claim them now instead of at their next poll.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait WorkSignal: Send + Sync {
    /// Wakes the workers (this replica's at once, others' through the invalidation bus where
    /// there is one); cheap and never blocks.
    fn wake(&self);

    /// Holds up to `at_most` free slots of this process's worker for steps the caller will
    /// claim under the offer's lease in its own transaction; `None` when it has none (the
    /// steps are then left ready, for a claim after [`wake`](Self::wake)). Every offer must be
    /// answered with [`taken`](Self::taken).
    fn offer(&self, at_most: usize) -> Option<StepOffer> {
        let _ = at_most;
        None
    }

    /// What became of the offer with `lease`: the execution as the caller's transaction left
    /// it (the worker runs the steps held under the lease, and frees the slots left over), or
    /// `None` when that transaction failed (every slot is freed; the lease holds nothing).
    fn taken(&self, lease: &str, state: Option<Arc<ExecutionState>>) {
        let _ = (lease, state);
    }
}
