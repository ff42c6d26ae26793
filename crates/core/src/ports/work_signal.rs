/// Tells the workflow workers that steps became ready (an execution started, a task was
/// completed), so they claim them now instead of at their next poll.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait WorkSignal: Send + Sync {
    /// Wakes the workers (this replica's at once, others' through the invalidation bus where
    /// there is one); cheap and never blocks.
    fn wake(&self);
}
