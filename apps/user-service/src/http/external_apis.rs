//! The services this one talks to besides its database — the SMTP relay (`SMTP_URL`) and the
//! OpenTelemetry collector (`OTEL_EXPORTER_OTLP_ENDPOINT`) — as `/health/detailed` reports
//! them: whether a TCP connection opens, and how long it took. Probed at most every
//! [`PROBE_EVERY`] (operators' monitors poll often; a relay must not see a connection per
//! poll), each connection bounded by [`CONNECT_TIMEOUT`].

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Mutex;
use utoipa::ToSchema;

/// How long a probe's answer is reused.
pub const PROBE_EVERY: Duration = Duration::from_secs(30);
/// How long one probe may wait for a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// One external service as reported.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ExternalApi {
    /// `smtp` or `otlp`.
    pub name: &'static str,
    /// `healthy` (a connection opened), `unhealthy`, or `not_configured`.
    pub status: &'static str,
    /// `host:port` probed (never the credentials of the URL).
    pub endpoint: Option<String>,
    /// How long the connection took to open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Why it is not healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The configured external services and their last probe.
pub struct ExternalApis {
    targets: Vec<(&'static str, Option<String>)>,
    last: Mutex<Option<(Instant, Vec<ExternalApi>)>>,
}

/// `host:port` of a URL (`scheme://user:pass@host:port/path`), the port defaulting by
/// scheme; `None` if there is no host.
pub fn address(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.is_empty() {
        return None;
    }
    // A port is what follows the last colon, unless that colon is inside an IPv6 literal.
    let has_port = host_port
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.contains(']') && port.parse::<u16>().is_ok());
    if has_port {
        return Some(host_port.to_owned());
    }
    let port = match scheme {
        "smtps" => 465,
        "smtp" => 25,
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    Some(format!("{host_port}:{port}"))
}

impl ExternalApis {
    /// The SMTP relay and the OTLP endpoint of the configuration.
    pub fn from_config(config: &usvc_config::Config) -> Self {
        Self {
            targets: vec![
                ("smtp", config.smtp_url.as_deref().and_then(address)),
                ("otlp", config.otlp_endpoint.as_deref().and_then(address)),
            ],
            last: Mutex::new(None),
        }
    }

    /// Each service's state, probed again when the last probe is older than [`PROBE_EVERY`]
    /// (one probe at a time: concurrent callers wait for it and share it).
    pub async fn report(&self) -> Vec<ExternalApi> {
        let mut last = self.last.lock().await;
        if let Some((at, report)) = last.as_ref() {
            if at.elapsed() < PROBE_EVERY {
                return report.clone();
            }
        }
        let probes = self
            .targets
            .iter()
            .map(|(name, endpoint)| probe(name, endpoint.clone()));
        let report = futures::future::join_all(probes).await;
        *last = Some((Instant::now(), report.clone()));
        report
    }
}

async fn probe(name: &'static str, endpoint: Option<String>) -> ExternalApi {
    let Some(address) = endpoint else {
        return ExternalApi {
            name,
            status: "not_configured",
            endpoint: None,
            latency_ms: None,
            error: None,
        };
    };
    let started = Instant::now();
    let outcome =
        tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&address)).await;
    let latency_ms = Some((started.elapsed().as_secs_f64() * 1e6).round() / 1e3);
    let error = match outcome {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(format!("cannot connect: {e}")),
        Err(_) => Some(format!(
            "no connection within {} ms",
            CONNECT_TIMEOUT.as_millis()
        )),
    };
    ExternalApi {
        name,
        status: if error.is_none() {
            "healthy"
        } else {
            "unhealthy"
        },
        endpoint: Some(address),
        latency_ms,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_drop_credentials_and_default_ports_by_scheme() {
        assert_eq!(
            address("smtp://user:secret@mail.example.com:587").as_deref(),
            Some("mail.example.com:587")
        );
        assert_eq!(
            address("smtps://mail.example.com").as_deref(),
            Some("mail.example.com:465")
        );
        assert_eq!(
            address("http://collector:4318/v1/traces").as_deref(),
            Some("collector:4318")
        );
        assert_eq!(
            address("https://otel.example.com").as_deref(),
            Some("otel.example.com:443")
        );
        assert_eq!(address("http://[::1]:4318").as_deref(), Some("[::1]:4318"));
        assert_eq!(address("http://[::1]").as_deref(), Some("[::1]:80"));
        assert_eq!(address("nonsense"), None);
    }

    #[tokio::test]
    async fn a_listening_service_is_healthy_a_closed_port_is_not_and_answers_are_reused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap().to_string();
        let closed = {
            let spare = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            spare.local_addr().unwrap().to_string()
        };
        let apis = ExternalApis {
            targets: vec![("smtp", Some(open)), ("otlp", Some(closed)), ("none", None)],
            last: Mutex::new(None),
        };
        let report = apis.report().await;
        let statuses: Vec<_> = report.iter().map(|a| a.status).collect();
        assert_eq!(statuses, ["healthy", "unhealthy", "not_configured"]);
        assert!(report[1].error.is_some());
        drop(listener);
        assert_eq!(apis.report().await, report, "reused within {PROBE_EVERY:?}");
    }
}
