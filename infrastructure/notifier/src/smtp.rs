//! SMTP delivery with lettre, off the request path.

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::mpsc;
use usvc_core::ports::{Message, Notifier};
use usvc_core::CoreError;

/// Messages waiting for the mail server; beyond this, sending fails fast (and is logged)
/// rather than holding memory while the server is down.
const QUEUE: usize = 1000;

/// Sends through one SMTP relay. `send` only queues; a background task delivers, logging
/// (without the body, which holds links) what could not be delivered.
#[derive(Debug, Clone)]
pub struct SmtpNotifier {
    queue: mpsc::Sender<lettre::Message>,
    from: Mailbox,
}

impl SmtpNotifier {
    /// A notifier for `url` (`smtp://host:port` with STARTTLS when offered, `smtps://` for
    /// TLS; credentials in the URL), sending as `from`. Spawns its delivery task on the
    /// current runtime.
    pub fn new(url: &str, from: &str) -> Result<Self, CoreError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| CoreError::invalid("SMTP_URL", format!("is not a usable SMTP URL: {e}")))?
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| CoreError::invalid("MAIL_FROM", format!("is not an address: {e}")))?;
        let (queue, mut pending) = mpsc::channel::<lettre::Message>(QUEUE);
        tokio::spawn(async move {
            while let Some(mail) = pending.recv().await {
                if let Err(e) = transport.send(mail).await {
                    tracing::warn!(error = %e, "mail delivery failed");
                }
            }
        });
        Ok(Self { queue, from })
    }

    fn build(&self, message: Message) -> Result<lettre::Message, CoreError> {
        let to = message
            .to
            .parse::<Mailbox>()
            .map_err(|e| CoreError::invalid("to", format!("is not an address: {e}")))?;
        lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject)
            .body(message.text)
            .map_err(|e| CoreError::Internal(format!("building mail: {e}")))
    }
}

#[async_trait]
impl Notifier for SmtpNotifier {
    async fn send(&self, message: Message) -> Result<(), CoreError> {
        let mail = self.build(message)?;
        self.queue
            .try_send(mail)
            .map_err(|_| CoreError::Unavailable("the mail queue is full".into()))
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    use super::*;

    /// A minimal SMTP server that accepts one message and hands back its DATA.
    async fn one_message(listener: TcpListener) -> String {
        let (socket, _) = listener.accept().await.expect("accept");
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 test ESMTP\r\n").await.expect("greet");
        let mut data = String::new();
        let mut in_data = false;
        while let Some(line) = lines.next_line().await.expect("read") {
            if in_data {
                if line == "." {
                    in_data = false;
                    write.write_all(b"250 queued\r\n").await.expect("ok");
                } else {
                    data.push_str(&line);
                    data.push('\n');
                }
                continue;
            }
            let reply: &[u8] = match line
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_uppercase()
                .as_str()
            {
                "EHLO" | "HELO" => b"250 test\r\n",
                "DATA" => {
                    in_data = true;
                    b"354 go on\r\n"
                }
                "QUIT" => {
                    write.write_all(b"221 bye\r\n").await.expect("bye");
                    break;
                }
                _ => b"250 ok\r\n",
            };
            write.write_all(reply).await.expect("reply");
        }
        data
    }

    #[tokio::test]
    async fn messages_are_delivered_to_the_smtp_server_in_the_background() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = tokio::spawn(one_message(listener));
        let notifier = SmtpNotifier::new(
            &format!("smtp://127.0.0.1:{port}"),
            "User Service <no-reply@example.com>",
        )
        .expect("notifier");
        notifier
            .send(Message {
                to: "ada@example.com".into(),
                subject: "Reset your password".into(),
                text: "Open https://id.example.com/reset?token=abc".into(),
            })
            .await
            .expect("queued");
        let data = tokio::time::timeout(std::time::Duration::from_secs(10), server)
            .await
            .expect("delivered in time")
            .expect("server");
        assert!(data.contains("Subject: Reset your password"), "{data}");
        assert!(data.contains("To: ada@example.com"), "{data}");
        assert!(data.contains("token=abc"), "{data}");
    }

    #[tokio::test]
    async fn bad_configuration_is_a_clear_error() {
        assert!(SmtpNotifier::new("ftp://nope", "a@example.com").is_err());
        assert!(SmtpNotifier::new("smtp://localhost", "not an address").is_err());
    }
}
