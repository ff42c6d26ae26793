use async_trait::async_trait;
use usvc_core::ports::{
    Invalidation, InvalidationHandler, InvalidationMessage, InvalidationSubscribers,
};
use usvc_core::CoreError;

/// Invalidation within one process: every published message is handed to every subscriber
/// before `publish` returns. Right for the SQLite deployment, which is one replica by design.
#[derive(Default, Clone)]
pub struct LocalInvalidation {
    subscribers: InvalidationSubscribers,
}

impl LocalInvalidation {
    /// A bus with no subscribers yet.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Invalidation for LocalInvalidation {
    async fn publish(&self, message: InvalidationMessage) -> Result<(), CoreError> {
        self.subscribers.deliver(&message);
        Ok(())
    }

    fn subscribe(&self, handler: InvalidationHandler) {
        self.subscribers.add(handler);
    }
}
