use async_trait::async_trait;

use crate::CoreError;

/// A plain-text message to one person.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Body (plain text; links written out in full).
    pub text: String,
}

impl std::fmt::Debug for Message {
    // The body carries single-use links: never in a debug dump.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Sends mail to users (password reset links, address verification). Adapters queue the
/// message and deliver it in the background, so a caller's response time never says whether a
/// message was sent (an account-enumeration side channel).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Queues `message` for delivery.
    async fn send(&self, message: Message) -> Result<(), CoreError>;
}
