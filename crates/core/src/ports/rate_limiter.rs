use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::CoreError;

/// Fixed-window request counters shared by every replica and kept across restarts (the
/// per-client-IP limit on the auth endpoints).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one request for `key` in the window starting at `window_start` (atomically) and
    /// returns the window's count including this one. Windows (of every key) older than
    /// `forget_before` are dropped on the way.
    async fn hit(
        &self,
        key: String,
        window_start: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<u32, CoreError>;
}
