//! `usvc-egress`: the `HttpClient` port over reqwest, behind an egress policy.
//!
//! Workflow `http` steps take URLs from users' definitions, so the service must not become
//! a way into its own network (SSRF). Every address a request would connect to — resolved
//! names, IP literals, each redirect hop — is checked: loopback, private, link-local,
//! shared, multicast and unspecified addresses are refused unless a configured network
//! (`WORKFLOW_HTTP_ALLOW`) contains them. Names are resolved by our resolver and the
//! connection goes to the addresses it approved, so a name cannot be re-pointed between the
//! check and the connection (DNS rebinding).

mod policy;

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use usvc_core::ports::{HttpClient, OutboundRequest, OutboundResponse};

pub use policy::Policy;

/// The most of a response body kept (the rest is dropped).
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Redirects followed at most.
const MAX_REDIRECTS: usize = 5;

/// Outbound HTTP under a [`Policy`].
pub struct EgressClient {
    client: reqwest::Client,
    policy: Arc<Policy>,
}

impl EgressClient {
    /// A client that may reach public addresses and those in `allow`.
    pub fn new(allow: Vec<IpNet>) -> Result<Self, String> {
        let policy = Arc::new(Policy::new(allow));
        let redirects = policy.clone();
        let client = reqwest::Client::builder()
            // No HTTP(S)_PROXY: a proxy would resolve and connect to targets itself, past
            // the resolver that enforces the policy.
            .no_proxy()
            .dns_resolver(Arc::new(Resolver(policy.clone())))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
                }
                match redirects.check_url(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(why) => attempt.error(why),
                }
            }))
            .user_agent("user-service-workflows")
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        Ok(Self { client, policy })
    }
}

/// Resolves names and keeps only the addresses the policy allows.
struct Resolver(Arc<Policy>);

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> {
                    format!("cannot resolve {host}: {e}").into()
                })?
                .collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy.check_ip(a.ip()).is_ok())
                .collect();
            if allowed.is_empty() {
                let why = found.first().map_or_else(
                    || format!("{host} has no address"),
                    |a| policy.check_ip(a.ip()).err().unwrap_or_default(),
                );
                return Err(format!("{host}: {why}").into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The innermost cause of a reqwest error, which names what really went wrong.
fn cause(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    let mut text = e.to_string();
    while let Some(inner) = source.source() {
        text = inner.to_string();
        source = inner;
    }
    if e.is_timeout() {
        return "timed out".into();
    }
    text
}

#[async_trait]
impl HttpClient for EgressClient {
    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, String> {
        let url = reqwest::Url::parse(&request.url).map_err(|e| format!("bad URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("only http:// and https:// URLs can be called".into());
        }
        self.policy.check_url(&url)?;
        let method = reqwest::Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("`{}` is not an HTTP method", request.method))?;
        let mut builder = self.client.request(method, url).timeout(request.timeout);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let mut response = builder.send().await.map_err(|e| cause(&e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| cause(&e))? {
            let room = MAX_RESPONSE_BYTES.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if room <= chunk.len() {
                break;
            }
        }
        Ok(OutboundResponse {
            status,
            content_type,
            body,
        })
    }
}
