//! How a loop of this crate is stopped: its flag is set (it checks the flag between rounds),
//! it is woken in case it sleeps, and the caller waits for its task to end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Stops the loop behind `stopping`, `wake` and `task`, and waits for the round in progress.
/// A second call returns at once (the task was taken by the first).
pub(crate) async fn stop_loop(
    stopping: &AtomicBool,
    wake: &Notify,
    task: &Mutex<Option<JoinHandle<()>>>,
) {
    stopping.store(true, Ordering::Release);
    wake.notify_one();
    let task = task.lock().ok().and_then(|mut slot| slot.take());
    if let Some(task) = task {
        let _ = task.await;
    }
}
