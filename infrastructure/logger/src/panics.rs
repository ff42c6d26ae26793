//! Panics stop at the task they happen in. A bug that panics while one request, one workflow
//! step or one pass of a background loop runs is logged (with the task's name) and counted on
//! `/metrics` (`usvc_panics_total{task}`); the request answers 500, the step fails, the loop
//! goes on with its next pass, and the process keeps serving everyone else. This needs
//! `panic = "unwind"` (the release profile says so explicitly). Memory exhaustion cannot be
//! caught this way; the limits on what callers send prevent it (docs/security.md).

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;

/// The message a panic carried (`panic!("…")`, `expect("…")`), or a placeholder.
pub fn message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Runs `work`; a panic inside it is logged and counted as `task`'s and comes back as `Err`
/// with its message.
pub async fn caught<T>(task: &'static str, work: impl Future<Output = T>) -> Result<T, String> {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(value) => Ok(value),
        Err(payload) => {
            let message = message(payload.as_ref());
            tracing::error!(task, panic = %message, "a task panicked; it was stopped and the process goes on");
            metrics::counter!("usvc_panics_total", "task" => task).increment(1);
            Err(message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_returned_as_its_message_and_the_caller_goes_on() {
        assert_eq!(caught("test", async { 7 }).await, Ok(7));
        let failed = caught("test", async {
            let items: Vec<u8> = Vec::new();
            #[allow(clippy::indexing_slicing)]
            items[3]
        })
        .await;
        assert!(failed.unwrap_err().contains("index out of bounds"));
        let failed = caught("test", async { panic!("{}", String::from("owned")) }).await;
        assert_eq!(failed, Err::<(), _>("owned".to_owned()));
    }
}
