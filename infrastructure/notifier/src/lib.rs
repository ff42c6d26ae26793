//! `usvc-notifier`: how mail leaves the service.
//!
//! - [`SmtpNotifier`]: delivery over SMTP (`SMTP_URL`, e.g. `smtps://user:pass@mail.example.com`
//!   or `smtp://localhost:25`), in the background so no response waits for a mail server.
//! - [`LogNotifier`]: for development and air-gapped trials: the message, links included, goes
//!   to the log at `info`, where the person testing can click it.

mod log;
mod smtp;

pub use log::LogNotifier;
pub use smtp::SmtpNotifier;
