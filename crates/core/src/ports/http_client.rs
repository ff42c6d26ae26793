use std::time::Duration;

use async_trait::async_trait;

/// An HTTP request a workflow step sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// An `http://` or `https://` URL.
    pub url: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
    /// How long the whole exchange may take.
    pub timeout: Duration,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundResponse {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body (truncated by the adapter past its limit).
    pub body: Vec<u8>,
}

/// Sends workflow steps' HTTP requests, refusing targets the egress policy forbids (private,
/// loopback and link-local addresses unless configured), so a workflow cannot be used to
/// probe the network the service runs in.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait HttpClient: Send + Sync {
    /// Sends `request`; `Err` is a sentence saying why nothing (or no complete answer) came
    /// back: refused target, connection failure, timeout.
    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, String>;
}
