//! The load loop: keep-alive connections, each sending requests back to back.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

use crate::raw_commit::RawCommit;
use crate::scenarios::{BodyInput, Credentials, Kind, Scenario, FULL_CACHE_USERS};

/// How long each scenario runs before the connections switch to the other (with a baseline).
pub const SLICE: Duration = Duration::from_millis(250);

/// How long a connection pauses after a 503 with `Retry-After`.
const UNAVAILABLE_PAUSE: Duration = Duration::from_millis(50);

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
    /// The server's database, for the `raw-commit` yardstick.
    pub database_url: Option<String>,
    /// An access token to use instead of logging in before the run (taken before a login
    /// flood that the per-IP limit answers 429, the memory ceiling's profile load).
    pub bearer: Option<String>,
}

impl Plan {
    /// Whether the scenario or its baseline is of `kind`.
    fn involves(&self, kind: Kind) -> bool {
        self.scenario.kind == kind || self.baseline.is_some_and(|b| b.kind == kind)
    }
}

/// The measurements of one scenario.
#[derive(Debug)]
pub struct Measured {
    /// Latencies in microseconds.
    pub latencies: Histogram<u64>,
    /// Requests with an unexpected status or a transport error (not in `latencies`, which
    /// holds successful requests only).
    pub errors: u64,
    /// The errors by kind: the status (`"502"`), `"503 retry-after"` for a 503 that says when
    /// to come back, or `"transport"` (no answer at all).
    pub failures: BTreeMap<String, u64>,
    /// Seconds from the start of measuring to the first and the last error.
    pub failure_window: Option<(f64, f64)>,
    /// The writes the server acknowledged (`project <id>`, …), for `--acknowledged`.
    pub acknowledged: Vec<String>,
}

impl Measured {
    pub(crate) fn new() -> anyhow::Result<Self> {
        Ok(Self {
            latencies: Histogram::new_with_bounds(1, 60_000_000, 3)?,
            errors: 0,
            failures: BTreeMap::new(),
            failure_window: None,
            acknowledged: Vec::new(),
        })
    }

    fn merge(&mut self, other: Self) -> anyhow::Result<()> {
        self.latencies.add(&other.latencies)?;
        self.errors += other.errors;
        for (kind, n) in other.failures {
            *self.failures.entry(kind).or_default() += n;
        }
        self.failure_window = match (self.failure_window, other.failure_window) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (one, other) => one.or(other),
        };
        self.acknowledged.extend(other.acknowledged);
        Ok(())
    }

    /// Counts a failed request `at` seconds into the measurement.
    pub(crate) fn fail(&mut self, kind: String, at: f64) {
        self.errors += 1;
        *self.failures.entry(kind).or_default() += 1;
        self.failure_window = Some(match self.failure_window {
            Some((first, last)) => (first.min(at), last.max(at)),
            None => (at, at),
        });
    }
}

/// One answer.
struct Answer {
    status: u16,
    body: Bytes,
    /// Whether it carried `Retry-After`.
    retry_after: bool,
}

/// What kind of failure `outcome` is (see [`Measured::failures`]).
fn failure_kind(outcome: &anyhow::Result<Answer>) -> String {
    match outcome {
        Err(_) => "transport".to_owned(),
        Ok(a) if a.status == 503 && a.retry_after => "503 retry-after".to_owned(),
        Ok(a) => a.status.to_string(),
    }
}

/// The write a successful answer acknowledges (`project 0190…`), if the scenario records one.
fn acknowledged(scenario: &Scenario, body: &[u8]) -> Option<String> {
    let (label, field) = scenario.records?;
    let answer: serde_json::Value = serde_json::from_slice(body).ok()?;
    answer[field].as_str().map(|id| format!("{label} {id}"))
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
    lookup: &'a [String],
    /// The path prepared before the run: the project [`Kind::ProjectGet`] reads, or the
    /// executions of the workflow [`Kind::WorkflowRun`] starts.
    prepared: Option<&'a str>,
}

async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    cx: &Context<'_>,
    scenario: &Scenario,
    seq: u64,
    refresh_token: Option<&str>,
) -> anyhow::Result<Answer> {
    let input = BodyInput {
        credentials: cx.credentials,
        refresh_token,
        lookup: cx.lookup,
    };
    let body = scenario
        .body
        .map(|build| build(seq, &input))
        .unwrap_or_default();
    let mut request = Request::builder()
        .method(scenario.method)
        .uri(match (scenario.kind, cx.prepared) {
            (Kind::ProjectGet | Kind::WorkflowRun, Some(path)) => path,
            _ => scenario.path,
        })
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
    let retry_after = response.headers().contains_key("retry-after");
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Answer {
        status,
        body,
        retry_after,
    })
}

/// Logs in once; the token pair's (access, refresh) tokens.
pub(crate) async fn log_in(
    target: &Target,
    credentials: &Credentials,
) -> anyhow::Result<(String, String)> {
    let mut sender = connect(target).await?;
    let login = crate::scenarios::find("login")?;
    let cx = Context {
        target,
        credentials,
        bearer: None,
        lookup: &[],
        prepared: None,
    };
    let Answer { status, body, .. } = send(&mut sender, &cx, &login, 0, None).await?;
    anyhow::ensure!(
        status == 200,
        "logging in as {} failed with {status}: {} (an account with MFA cannot be used; \
         run the server with AUTH_RATE_LIMIT=0 for load tests)",
        credentials.email,
        String::from_utf8_lossy(&body)
    );
    let pair: serde_json::Value = serde_json::from_slice(&body)?;
    let token = |name: &str| {
        pair[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("the login answer has no {name}"))
    };
    Ok((token("access_token")?, token("refresh_token")?))
}

/// Creates the project [`Kind::ProjectGet`] reads; its path.
async fn prepare_project(target: &Target, bearer: &str) -> anyhow::Result<String> {
    let body = serde_json::json!({"name": format!("bench read {}", uuid::Uuid::now_v7())});
    let created = call(target, bearer, "POST", "/api/v1/projects", Some(body)).await?;
    let id = created["id"]
        .as_str()
        .context("the created project has no id")?;
    Ok(format!("/api/v1/projects/{id}"))
}

/// Saves the workflow [`Kind::WorkflowRun`] starts: one `transform` fanning out to eight in
/// parallel, joined by a tenth; the path that starts it and waits for its end.
async fn prepare_workflow(target: &Target, bearer: &str) -> anyhow::Result<String> {
    let mut steps = vec![serde_json::json!(
        {"id": "split", "kind": "transform", "with": {"n": "{{ inputs.n }}"}})];
    let branches: Vec<String> = (1..=8).map(|i| format!("branch{i}")).collect();
    for (i, id) in branches.iter().enumerate() {
        steps.push(
            serde_json::json!({"id": id, "kind": "transform", "depends_on": ["split"],
            "with": {"v": format!("{{{{ steps.split.output.n * {} }}}}", i + 1)}}),
        );
    }
    let sum: Vec<String> = branches
        .iter()
        .map(|b| format!("steps.{b}.output.v"))
        .collect();
    steps.push(
        serde_json::json!({"id": "join", "kind": "transform", "depends_on": branches,
        "with": {"total": format!("{{{{ {} }}}}", sum.join(" + "))}}),
    );
    let body = serde_json::json!({"name": format!("bench fan-out {}", uuid::Uuid::now_v7()), "steps": steps});
    let created = call(target, bearer, "POST", "/api/v1/workflows", Some(body)).await?;
    let id = created["id"]
        .as_str()
        .context("the created workflow has no id")?;
    Ok(format!("/api/v1/workflows/{id}/executions?wait=30"))
}

impl Target {
    /// One unauthenticated `GET` outside any measured loop: its status and body as text.
    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, String)> {
        let mut sender = connect(self).await?;
        let request = Request::builder()
            .method("GET")
            .uri(path)
            .header("host", &self.authority)
            .body(Full::new(Bytes::new()))?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }
}

/// Ids one lookup request asks for.
const LOOKUP_IDS: usize = 100;

/// One request outside the measured loop, with a bearer token and a JSON body.
async fn call(
    target: &Target,
    bearer: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> anyhow::Result<serde_json::Value> {
    let mut sender = connect(target).await?;
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", &target.authority)
        .header("authorization", format!("Bearer {bearer}"));
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let response = sender
        .send_request(request.body(Full::new(Bytes::from(payload)))?)
        .await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    anyhow::ensure!(
        status.is_success(),
        "{method} {path} failed with {status}: {}",
        String::from_utf8_lossy(&bytes)
    );
    Ok(serde_json::from_slice(&bytes)?)
}

/// The ids of up to `users` users imported by [`prepare_lookup`], a page at a time.
async fn bench_users(
    target: &Target,
    bearer: &str,
    users: usize,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut ids = Vec::with_capacity(users);
    let mut cursor = String::new();
    while ids.len() < users {
        let path = format!("/api/v1/users?q=bench-&limit=200&cursor={cursor}");
        let page = call(target, bearer, "GET", &path, None).await?;
        let items = page["items"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        ids.extend(items.iter().map(|u| u["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(next) if !items.is_empty() => next.clone_into(&mut cursor),
            _ => break,
        }
    }
    ids.truncate(users);
    Ok(ids)
}

/// Makes sure the tenant has `users` users besides the bench account (importing
/// `bench-N@bench.example` as needed) and returns the lookup bodies asking for them,
/// [`LOOKUP_IDS`] per body.
async fn prepare_lookup(
    target: &Target,
    bearer: &str,
    users: usize,
) -> anyhow::Result<Vec<String>> {
    let mut ids = bench_users(target, bearer, users).await?;
    if ids.len() < users {
        let rows: Vec<serde_json::Value> = (0..users)
            .map(|i| serde_json::json!({"email": format!("bench-{i}@bench.example"), "display_name": format!("Bench user {i}")}))
            .collect();
        // Rows an earlier run imported are rejected as duplicates; the others are stored.
        call(
            target,
            bearer,
            "POST",
            "/api/v1/users/import",
            Some(serde_json::Value::from(rows)),
        )
        .await?;
        ids = bench_users(target, bearer, users).await?;
    }
    anyhow::ensure!(ids.len() == users, "could not get {users} users to look up");
    Ok(ids
        .chunks(LOOKUP_IDS)
        .map(|chunk| serde_json::json!({ "ids": chunk }).to_string())
        .collect())
}

/// Takes one request from the budget; `false` once it is spent.
fn take_one(budget: &AtomicU64) -> bool {
    budget
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
}

#[allow(clippy::too_many_arguments)] // the run's shared state, passed once per connection
async fn worker(
    plan: Arc<Plan>,
    bearer: Option<Arc<str>>,
    lookup: Arc<[String]>,
    prepared: Option<Arc<str>>,
    started: Instant,
    measure_from: Instant,
    stop_at: Instant,
    budget: Arc<AtomicU64>,
    interrupted: Arc<AtomicBool>,
) -> anyhow::Result<(Measured, Option<Measured>)> {
    let cx = Context {
        target: &plan.target,
        credentials: &plan.credentials,
        bearer: bearer.as_deref(),
        lookup: &lookup,
        prepared: prepared.as_deref(),
    };
    // Each connection of the yardstick is its own database connection.
    let mut raw = match (&plan.database_url, plan.involves(Kind::RawCommit)) {
        (Some(url), true) => Some(RawCommit::connect(url).await?),
        _ => None,
    };
    let chained = plan.scenario.kind == Kind::RefreshChain
        || plan.baseline.is_some_and(|b| b.kind == Kind::RefreshChain);
    // Each connection is its own session: its refresh tokens form one chain.
    let mut refresh = if chained {
        Some(log_in(&plan.target, &plan.credentials).await?.1)
    } else {
        None
    };
    let mut scenario = Measured::new()?;
    let mut baseline = plan.baseline.map(|_| Measured::new()).transpose()?;
    let mut sender = connect(&plan.target).await?;
    let mut seq = 0u64;
    loop {
        let now = Instant::now();
        if now >= stop_at || interrupted.load(Ordering::Relaxed) {
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
            (Some(b), Some(m)) if use_baseline => (*b, m),
            _ => (plan.scenario, &mut scenario),
        };
        let which = match which.kind {
            Kind::Mixed => crate::scenarios::mixed_part(seq),
            _ => which,
        };
        let started = Instant::now();
        let outcome = match (which.kind, raw.as_mut()) {
            (Kind::RawCommit, Some(raw)) => raw.insert_one(seq).await.map(|()| Answer {
                status: 200,
                body: Bytes::new(),
                retry_after: false,
            }),
            _ => send(&mut sender, &cx, &which, seq, refresh.as_deref()).await,
        };
        if which.kind == Kind::RefreshChain {
            if let Ok(Answer {
                status: 200, body, ..
            }) = &outcome
            {
                let pair: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
                refresh = pair["refresh_token"].as_str().map(str::to_owned);
            }
        }
        let micros = u64::try_from(started.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        seq += 1;
        let ok = matches!(&outcome, Ok(a) if which.ok.contains(&a.status));
        if measuring {
            if ok {
                into.latencies.saturating_record(micros);
            } else {
                let at = started
                    .saturating_duration_since(measure_from)
                    .as_secs_f64();
                into.fail(failure_kind(&outcome), at);
            }
        }
        // A write the server acknowledged is listed even during warm-up: it must be kept.
        if let (true, Ok(answer)) = (ok, &outcome) {
            into.acknowledged.extend(acknowledged(&which, &answer.body));
        }
        if matches!(&outcome, Ok(a) if a.status == 503 && a.retry_after) {
            // The service (or its balancer) is down and says so: pause briefly, as a client
            // honouring Retry-After would, but short enough to see the recovery at once.
            tokio::time::sleep(UNAVAILABLE_PAUSE).await;
        }
        if outcome.is_err() && which.kind != Kind::RawCommit {
            // The server closed the connection or is restarting: reconnect until the run ends.
            loop {
                match connect(&plan.target).await {
                    Ok(fresh) => {
                        sender = fresh;
                        break;
                    }
                    Err(_) if Instant::now() < stop_at && !interrupted.load(Ordering::Relaxed) => {
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
    // Ctrl-C (SIGINT) ends the run early: each connection finishes the request it has in
    // flight, and the report covers the time until then. Listened for from the start, so a
    // Ctrl-C during the preparation ends the run at once instead of killing the process.
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    #[cfg(unix)]
    {
        // Registered here and now, not at the task's first poll.
        let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        tokio::spawn(async move {
            if sigint.recv().await.is_some() {
                flag.store(true, Ordering::Relaxed);
            }
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, Ordering::Relaxed);
        }
    });
    let plan = Arc::new(plan.clone());
    let needs_token = plan.scenario.bearer || plan.baseline.is_some_and(|b| b.bearer);
    let bearer: Option<Arc<str>> = match (&plan.bearer, needs_token) {
        (_, false) => None,
        (Some(given), true) => Some(given.as_str().into()),
        (None, true) => Some(log_in(&plan.target, &plan.credentials).await?.0.into()),
    };
    let users = if plan.involves(Kind::LookupFull) {
        FULL_CACHE_USERS
    } else if plan.involves(Kind::Lookup) {
        LOOKUP_IDS
    } else {
        0
    };
    let lookup: Arc<[String]> = match &bearer {
        Some(token) if users > 0 => prepare_lookup(&plan.target, token, users).await?.into(),
        _ => Arc::from(Vec::new()),
    };
    let prepared: Option<Arc<str>> = match &bearer {
        Some(token) if plan.involves(Kind::ProjectGet) => {
            Some(prepare_project(&plan.target, token).await?.into())
        }
        Some(token) if plan.involves(Kind::WorkflowRun) || plan.involves(Kind::Mixed) => {
            Some(prepare_workflow(&plan.target, token).await?.into())
        }
        _ => None,
    };
    if plan.involves(Kind::RawCommit) {
        let url = plan
            .database_url
            .as_deref()
            .context("raw-commit needs --database-url (the server's DATABASE_URL)")?;
        RawCommit::prepare(url).await?;
    }
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
                lookup.clone(),
                prepared.clone(),
                started,
                measure_from,
                stop_at,
                budget.clone(),
                interrupted.clone(),
            ))
        })
        .collect();
    let mut scenario = Measured::new()?;
    let mut baseline = plan.baseline.map(|_| Measured::new()).transpose()?;
    for task in tasks {
        let (s, b) = task.await.context("load task")??;
        scenario.merge(s)?;
        if let (Some(total), Some(b)) = (baseline.as_mut(), b) {
            total.merge(b)?;
        }
    }
    let elapsed = Instant::now().saturating_duration_since(measure_from);
    if let (Some(url), true) = (&plan.database_url, plan.involves(Kind::RawCommit)) {
        RawCommit::clean_up(url).await?;
    }
    Ok(Results {
        scenario,
        baseline,
        elapsed,
    })
}

/// Lifts the bench tenant's workflow quotas to their ceilings (as its platform admin), so
/// `workflow-run` at 64 connections measures the engine, not the default quota's 429s.
pub async fn raise_quotas(target: &Target, credentials: &Credentials) -> anyhow::Result<()> {
    let (bearer, _) = log_in(target, credentials).await?;
    let tenant = call(target, &bearer, "GET", "/api/v1/tenant", None).await?;
    let id = tenant["id"].as_str().context("the tenant has no id")?;
    let quotas = serde_json::json!({
        "running_executions": 100_000,
        "starts_per_minute": 100_000,
        "steps_in_flight": 4096,
    });
    let path = format!("/api/v1/tenants/{id}/quotas");
    call(target, &bearer, "PUT", &path, Some(quotas)).await?;
    Ok(())
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
    fn failures_are_told_apart_and_their_window_kept_across_connections() {
        let answer = |status, retry_after| {
            Ok(Answer {
                status,
                body: Bytes::new(),
                retry_after,
            })
        };
        assert_eq!(failure_kind(&answer(503, true)), "503 retry-after");
        assert_eq!(failure_kind(&answer(503, false)), "503");
        assert_eq!(failure_kind(&answer(502, false)), "502");
        assert_eq!(failure_kind(&Err(anyhow::anyhow!("reset"))), "transport");

        let mut a = Measured::new().expect("measured");
        a.fail("502".into(), 4.0);
        a.fail("502".into(), 2.5);
        let mut b = Measured::new().expect("measured");
        b.fail("transport".into(), 7.0);
        b.acknowledged.push("project p1".into());
        a.merge(b).expect("merge");
        assert_eq!(a.errors, 3);
        assert_eq!(a.failures.get("502"), Some(&2));
        assert_eq!(a.failures.get("transport"), Some(&1));
        assert_eq!(a.failure_window, Some((2.5, 7.0)));
        assert_eq!(a.acknowledged, ["project p1"]);
    }

    #[test]
    fn an_acknowledged_write_is_read_from_the_answer() {
        let project = crate::scenarios::find("project-create").expect("scenario");
        assert_eq!(
            acknowledged(&project, br#"{"id":"0190","name":"x"}"#).as_deref(),
            Some("project 0190")
        );
        assert_eq!(acknowledged(&project, b"not json"), None);
        let profile = crate::scenarios::find("profile").expect("scenario");
        assert_eq!(acknowledged(&profile, br#"{"id":"u1"}"#), None);
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
