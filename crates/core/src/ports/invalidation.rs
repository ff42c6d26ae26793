use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::CoreError;

/// "This cache entry changed": sent by a writer, applied by every replica's cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidationMessage {
    /// The named cache (`user-sessions`, `projects`, …).
    pub cache: String,
    /// The key's text form, or `None` to drop the whole cache.
    pub key: Option<String>,
}

/// Called for every invalidation, local or from another replica.
pub type InvalidationHandler = Arc<dyn Fn(&InvalidationMessage) + Send + Sync>;

/// Broadcasts cache invalidations to every replica (in-process for SQLite, LISTEN/NOTIFY on
/// Postgres), so a stale cache cannot outlive a logout or a role change.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Invalidation: Send + Sync {
    /// Delivers `message` to every subscriber on every replica, this one included.
    async fn publish(&self, message: InvalidationMessage) -> Result<(), CoreError>;

    /// Registers a handler for every message from now on.
    fn subscribe(&self, handler: InvalidationHandler);

    /// Whether messages from other replicas are being received right now (`/health/detailed`
    /// reports invalidation as degraded otherwise). In-process buses are always connected.
    fn is_connected(&self) -> bool {
        true
    }
}

/// The subscriber list every `Invalidation` adapter keeps; delivering runs each handler in
/// subscription order.
#[derive(Default, Clone)]
pub struct InvalidationSubscribers {
    handlers: Arc<std::sync::RwLock<Vec<InvalidationHandler>>>,
}

impl InvalidationSubscribers {
    /// Adds a handler.
    pub fn add(&self, handler: InvalidationHandler) {
        match self.handlers.write() {
            Ok(mut guard) => guard.push(handler),
            Err(poisoned) => poisoned.into_inner().push(handler),
        }
    }

    /// Runs every handler on `message`.
    pub fn deliver(&self, message: &InvalidationMessage) {
        let handlers = match self.handlers.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        for handler in handlers {
            handler(message);
        }
    }
}
