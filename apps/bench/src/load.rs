//! The load loop: keep-alive connections, each sending requests back to back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::scenarios::{Credentials, Scenario};

/// How long each scenario runs before the connections switch to the other (with a baseline).
pub const SLICE: Duration = Duration::from_millis(250);

/// Where to send requests.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port`.
    pub authority: String,
}

impl Target {
    /// Accepts `http://host:port` (plain HTTP on loopback is what the bench is for).
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let Some(rest) = url.strip_prefix("http://") else {
            bail!("--url must start with http://");
        };
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            bail!("--url must be a base URL such as http://127.0.0.1:8008");
        }
        let has_port = match authority.rsplit_once(']') {
            Some((_, after)) => after.starts_with(':'), // [::1]:8008
            None => authority.contains(':'),
        };
        let authority = if has_port {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        Ok(Self { authority })
    }
}

/// A whole run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The server.
    pub target: Target,
    /// What is measured.
    pub scenario: Scenario,
    /// What it is compared with, interleaved.
    pub baseline: Option<Scenario>,
    /// Concurrent connections.
    pub connections: usize,
    /// Measured duration (unless `requests` is set).
    pub duration: Duration,
    /// Total request budget, instead of a duration.
    pub requests: Option<u64>,
    /// Unmeasured warm-up.
    pub warmup: Duration,
    /// The account logins and bearer scenarios use.
    pub credentials: Credentials,
}

/// The measurements of one scenario.
pub struct Measured {
    /// Latencies in microseconds.
    pub latencies: Histogram<u64>,
    /// Requests with an unexpected status or a transport error (not in `latencies`, which
    /// holds successful requests only).
    pub errors: u64,
}

impl Measured {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            latencies: Histogram::new_with_bounds(1, 60_000_000, 3)?,
            errors: 0,
        })
    }

    fn merge(&mut self, other: &Self) -> anyhow::Result<()> {
        self.latencies.add(&other.latencies)?;
        self.errors += other.errors;
        Ok(())
    }
}

/// Everything a run measured.
pub struct Results {
    /// The scenario's figures.
    pub scenario: Measured,
    /// The baseline's, when interleaved.
    pub baseline: Option<Measured>,
    /// Wall time of the measured part.
    pub elapsed: Duration,
}

async fn connect(target: &Target) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(&target.authority)
        .await
        .with_context(|| format!("connecting to {}", target.authority))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// What every request of a run shares.
struct Context<'a> {
    target: &'a Target,
    credentials: &'a Credentials,
    bearer: Option<&'a str>,
}

async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    cx: &Context<'_>,
    scenario: &Scenario,
    seq: u64,
) -> anyhow::Result<(u16, Bytes)> {
    let body = scenario
        .body
        .map(|build| build(seq, cx.credentials))
        .unwrap_or_default();
    let mut request = Request::builder()
        .method(scenario.method)
        .uri(scenario.path)
        .header("host", &cx.target.authority);
    if scenario.body.is_some() {
        request = request.header("content-type", "application/json");
    }
    if let (true, Some(token)) = (scenario.bearer, cx.bearer) {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    sender.ready().await?;
    let response = sender
        .send_request(request.body(Full::new(Bytes::from(body)))?)
        .await?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, bytes))
}

/// Logs in once for the bearer scenarios.
async fn access_token(target: &Target, credentials: &Credentials) -> anyhow::Result<String> {
    let mut sender = connect(target).await?;
    let login = crate::scenarios::find("login")?;
    let cx = Context {
        target,
        credentials,
        bearer: None,
    };
    let (status, body) = send(&mut sender, &cx, &login, 0).await?;
    anyhow::ensure!(
        status == 200,
        "logging in as {} failed with {status}: {}",
        credentials.email,
        String::from_utf8_lossy(&body)
    );
    let pair: serde_json::Value = serde_json::from_slice(&body)?;
    pair["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("the login answer has no access_token")
}

/// Takes one request from the budget; `false` once it is spent.
fn take_one(budget: &AtomicU64) -> bool {
    budget
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
}

async fn worker(
    plan: Arc<Plan>,
    bearer: Option<Arc<str>>,
    started: Instant,
    measure_from: Instant,
    stop_at: Instant,
    budget: Arc<AtomicU64>,
) -> anyhow::Result<(Measured, Option<Measured>)> {
    let cx = Context {
        target: &plan.target,
        credentials: &plan.credentials,
        bearer: bearer.as_deref(),
    };
    let mut scenario = Measured::new()?;
    let mut baseline = plan.baseline.map(|_| Measured::new()).transpose()?;
    let mut sender = connect(&plan.target).await?;
    let mut seq = 0u64;
    loop {
        let now = Instant::now();
        if now >= stop_at {
            break;
        }
        let measuring = now >= measure_from;
        if measuring && plan.requests.is_some() && !take_one(&budget) {
            break;
        }
        // All connections switch together every SLICE (warm-up included, so both scenarios
        // are warm), giving each half the time under the same conditions.
        let slice = now.saturating_duration_since(started).as_millis() / SLICE.as_millis();
        let use_baseline = plan.baseline.is_some() && slice % 2 == 1;
        let (which, into) = match (&plan.baseline, baseline.as_mut()) {
            (Some(b), Some(m)) if use_baseline => (b, m),
            _ => (&plan.scenario, &mut scenario),
        };
        let started = Instant::now();
        let outcome = send(&mut sender, &cx, which, seq)
            .await
            .map(|(status, _)| status);
        let micros = u64::try_from(started.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        seq += 1;
        let ok = matches!(outcome, Ok(status) if which.ok.contains(&status));
        if measuring {
            if ok {
                into.latencies.saturating_record(micros);
            } else {
                into.errors += 1;
            }
        }
        if outcome.is_err() {
            // The server closed the connection or is restarting: reconnect until the run ends.
            loop {
                match connect(&plan.target).await {
                    Ok(fresh) => {
                        sender = fresh;
                        break;
                    }
                    Err(_) if Instant::now() < stop_at => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok((scenario, baseline))
}

/// Runs the plan and merges every connection's figures.
pub async fn run(plan: &Plan) -> anyhow::Result<Results> {
    let plan = Arc::new(plan.clone());
    let needs_token = plan.scenario.bearer || plan.baseline.is_some_and(|b| b.bearer);
    let bearer: Option<Arc<str>> = if needs_token {
        Some(access_token(&plan.target, &plan.credentials).await?.into())
    } else {
        None
    };
    let started = Instant::now();
    let measure_from = started + plan.warmup;
    let stop_at = match plan.requests {
        // A request budget still gets a ceiling, so a dead server cannot hang the run.
        Some(_) => measure_from + Duration::from_secs(600),
        None => measure_from + plan.duration,
    };
    let budget = Arc::new(AtomicU64::new(plan.requests.unwrap_or(u64::MAX)));
    let tasks: Vec<_> = (0..plan.connections)
        .map(|_| {
            tokio::spawn(worker(
                plan.clone(),
                bearer.clone(),
                started,
                measure_from,
                stop_at,
                budget.clone(),
            ))
        })
        .collect();
    let mut scenario = Measured::new()?;
    let mut baseline = plan.baseline.map(|_| Measured::new()).transpose()?;
    for task in tasks {
        let (s, b) = task.await.context("load task")??;
        scenario.merge(&s)?;
        if let (Some(total), Some(b)) = (baseline.as_mut(), b) {
            total.merge(&b)?;
        }
    }
    let elapsed = Instant::now().saturating_duration_since(measure_from);
    Ok(Results {
        scenario,
        baseline,
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_get_a_default_port_and_reject_paths() {
        let t = |url: &str| Target::parse(url).map(|t| t.authority);
        assert_eq!(
            t("http://127.0.0.1:8008").ok().as_deref(),
            Some("127.0.0.1:8008")
        );
        assert_eq!(t("http://localhost/").ok().as_deref(), Some("localhost:80"));
        assert_eq!(t("http://[::1]").ok().as_deref(), Some("[::1]:80"));
        assert_eq!(t("http://[::1]:9000").ok().as_deref(), Some("[::1]:9000"));
        assert!(t("https://x").is_err());
        assert!(t("http://x/api").is_err());
    }

    #[test]
    fn the_request_budget_is_never_overspent() {
        let budget = AtomicU64::new(2);
        assert!(take_one(&budget));
        assert!(take_one(&budget));
        assert!(!take_one(&budget));
        assert!(!take_one(&budget), "stays spent instead of wrapping around");
        assert_eq!(budget.load(Ordering::Relaxed), 0);
    }
}
