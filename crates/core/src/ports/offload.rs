//! Where CPU-bound work that a caller's input sets off runs: validating a workflow definition
//! (up to a second of static-template checks), checking inputs against a schema, evaluating a
//! concurrency key (up to 250 ms). On the async threads that serve requests it would hold up
//! every other request on the thread; an adapter runs it on a blocking pool instead, so a
//! member saving heavy definitions in a loop slows their own requests, not everyone's.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use crate::CoreError;

/// Runs CPU-bound work away from the async threads.
#[async_trait]
pub trait Offload: Send + Sync {
    /// Runs `work` to completion; a panic inside it is an `Internal` error.
    async fn run(&self, work: Box<dyn FnOnce() + Send + 'static>) -> Result<(), CoreError>;
}

/// Runs `work` through `offload` and returns its answer.
pub async fn offload<T, F>(offload: &dyn Offload, work: F) -> Result<T, CoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, CoreError> + Send + 'static,
{
    let slot = Arc::new(Mutex::new(None));
    let answer = slot.clone();
    offload
        .run(Box::new(move || {
            let result = work();
            *answer.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
        }))
        .await?;
    let result = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
    result.unwrap_or_else(|| Err(CoreError::Internal("offloaded work gave no answer".into())))
}

/// Runs the work where it is called: for unit tests and tools without a runtime to protect.
#[derive(Debug, Clone, Copy, Default)]
pub struct InPlace;

#[async_trait]
impl Offload for InPlace {
    async fn run(&self, work: Box<dyn FnOnce() + Send + 'static>) -> Result<(), CoreError> {
        work();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_answer_comes_back() {
        assert_eq!(offload(&InPlace, || Ok(2 + 2)).await, Ok(4));
        assert_eq!(
            offload::<(), _>(&InPlace, || Err(CoreError::invalid("x", "no"))).await,
            Err(CoreError::invalid("x", "no"))
        );
    }
}
