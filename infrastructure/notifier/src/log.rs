//! The development notifier: writes each message to the log.

use async_trait::async_trait;
use usvc_core::ports::{Message, Notifier};
use usvc_core::CoreError;

/// Writes messages to the log instead of sending them. Links in them are live credentials
/// (a reset link resets a password): use it only where the log is as private as a mailbox.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn send(&self, message: Message) -> Result<(), CoreError> {
        tracing::info!(
            target: "usvc_notifier::outbox",
            to = %message.to,
            subject = %message.subject,
            body = %message.text,
            "mail (SMTP_URL is not set, so it is logged instead of sent)"
        );
        Ok(())
    }
}
