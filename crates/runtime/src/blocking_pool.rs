//! The [`Offload`] adapter: tokio's blocking pool, so the CPU work a request sets off
//! (validating a workflow definition, evaluating a start's concurrency key) does not hold up
//! the actix worker thread and every other request on it.

use async_trait::async_trait;
use usvc_core::ports::Offload;
use usvc_core::CoreError;

/// Runs offloaded work with `tokio::task::spawn_blocking`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlockingPool;

#[async_trait]
impl Offload for BlockingPool {
    async fn run(&self, work: Box<dyn FnOnce() + Send + 'static>) -> Result<(), CoreError> {
        tokio::task::spawn_blocking(work).await.map_err(|e| {
            if e.is_panic() {
                tracing::error!(error = %e, "offloaded work panicked; the request fails, the process goes on");
                metrics::counter!("usvc_panics_total", "task" => "offloaded").increment(1);
            }
            CoreError::Internal(format!("offloaded work stopped: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use usvc_core::ports::offload;

    #[tokio::test]
    async fn work_runs_on_the_pool_and_a_panic_is_an_internal_error() {
        let caller = std::thread::current().id();
        let ran_on = offload(&BlockingPool, || Ok(std::thread::current().id()))
            .await
            .unwrap();
        assert_ne!(ran_on, caller, "not on the calling thread");
        let panicked = offload::<(), _>(&BlockingPool, || panic!("a bug")).await;
        assert!(
            matches!(panicked, Err(CoreError::Internal(_))),
            "{panicked:?}"
        );
    }
}
