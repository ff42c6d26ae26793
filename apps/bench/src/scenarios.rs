//! The scenario registry. A scenario is one kind of request; later issues add theirs here
//! (with a body builder for writes, the status codes that count as success, and whether it
//! needs a bearer token, which the runner gets by logging in once before the run).

use anyhow::bail;

/// One request to repeat.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// The name given on the command line.
    pub name: &'static str,
    /// What it measures.
    pub description: &'static str,
    /// HTTP method.
    pub method: &'static str,
    /// Path (and query).
    pub path: &'static str,
    /// Builds the JSON body of request number `seq` (unique bodies for creates), if any.
    pub body: Option<fn(seq: u64, input: &BodyInput<'_>) -> String>,
    /// Statuses that count as success.
    pub ok: &'static [u16],
    /// Whether requests carry `Authorization: Bearer` (from one login before the run).
    pub bearer: bool,
    /// What the scenario needs beyond a token.
    pub kind: Kind,
    /// The write a success acknowledges, for `--acknowledged`: its label and the field of
    /// the answer holding the new record's id.
    pub records: Option<(&'static str, &'static str)>,
}

/// State a scenario carries between requests or prepares before the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Independent requests.
    Plain,
    /// Each connection logs in once; every answer's `refresh_token` is the next request's.
    RefreshChain,
    /// The run first makes sure 100 users exist and asks for all of them in every request.
    Lookup,
    /// The run first makes sure [`FULL_CACHE_USERS`] users exist (the user-profiles cache's
    /// default size) and asks for 100 of them per request, in turn: the cache full.
    LookupFull,
    /// The run first creates one project and reads it in every request.
    ProjectGet,
    /// Not HTTP: one single-row INSERT committed straight into `--database-url`.
    RawCommit,
    /// The run first saves a 10-step fan-out/fan-in workflow; every request starts an
    /// execution of it and waits for its end.
    WorkflowRun,
    /// Requests take turns among [`MIXED`]: what a cluster serves while it is broken.
    Mixed,
}

/// The parts of `mixed`, in turn: a login, a profile read, a project create and a workflow
/// start with `?wait` (which may answer 202 when the execution outlasts the wait).
const MIXED: [&str; 4] = ["login", "profile", "project-create", "workflow-run"];

/// Request number `seq` of the `mixed` scenario.
pub fn mixed_part(seq: u64) -> Scenario {
    let name = MIXED[usize::try_from(seq % 4).unwrap_or(0)];
    let part = find(name).unwrap_or_else(|_| unreachable!("{name} is in the table"));
    if part.kind == Kind::WorkflowRun {
        Scenario {
            ok: &[200, 202],
            ..part
        }
    } else {
        part
    }
}

/// What a body builder may use.
#[derive(Debug, Clone, Copy)]
pub struct BodyInput<'a> {
    /// The account.
    pub credentials: &'a Credentials,
    /// The connection's current refresh token ([`Kind::RefreshChain`]).
    pub refresh_token: Option<&'a str>,
    /// The prepared lookup bodies ([`Kind::Lookup`], [`Kind::LookupFull`]): request `seq`
    /// sends body `seq % len`.
    pub lookup: &'a [String],
}

/// The account scenarios log in with (`--email`, `--password`).
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Tenant slug.
    pub tenant: String,
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}

impl Credentials {
    /// The login request body.
    pub fn login_body(&self) -> String {
        serde_json::json!({"tenant": self.tenant, "email": self.email, "password": self.password})
            .to_string()
    }
}

fn login_body(_seq: u64, input: &BodyInput<'_>) -> String {
    input.credentials.login_body()
}

fn refresh_body(_seq: u64, input: &BodyInput<'_>) -> String {
    serde_json::json!({"refresh_token": input.refresh_token.unwrap_or_default()}).to_string()
}

fn authz_body(_seq: u64, _input: &BodyInput<'_>) -> String {
    r#"{"action":"projects:write","resource":{"type":"project","id":"p-1"}}"#.to_owned()
}

fn project_body(_seq: u64, _input: &BodyInput<'_>) -> String {
    // Names are unique in a tenant: a fresh UUID keeps runs and connections apart.
    serde_json::json!({
        "name": format!("bench {}", uuid::Uuid::now_v7()),
        "tags": ["bench"],
        "settings": {"owner": "usvc-bench"},
    })
    .to_string()
}

fn workflow_body(seq: u64, _input: &BodyInput<'_>) -> String {
    serde_json::json!({"inputs": {"n": seq}}).to_string()
}

fn lookup_body(seq: u64, input: &BodyInput<'_>) -> String {
    let pages = input.lookup.len() as u64;
    usize::try_from(seq.checked_rem(pages).unwrap_or(0))
        .ok()
        .and_then(|i| input.lookup.get(i))
        .map_or_else(|| r#"{"ids":[]}"#.to_owned(), Clone::clone)
}

/// Users [`Kind::LookupFull`] reads: `CACHE_SIZE`'s default, the user-profiles cache's size.
pub const FULL_CACHE_USERS: usize = 1000;

const fn get(name: &'static str, description: &'static str, path: &'static str) -> Scenario {
    Scenario {
        name,
        description,
        method: "GET",
        path,
        body: None,
        ok: &[200],
        bearer: false,
        kind: Kind::Plain,
        records: None,
    }
}

/// Every scenario.
#[allow(clippy::too_many_lines)] // one table, one entry per scenario
pub fn all() -> &'static [Scenario] {
    const ALL: &[Scenario] = &[
        get(
            "health-live",
            "GET /health/live: the bare stack (routing, middleware), no I/O",
            "/health/live",
        ),
        get("health", "GET /health: one database round trip", "/health"),
        get(
            "health-detailed",
            "GET /health/detailed: probe, cached counts, stats",
            "/health/detailed",
        ),
        get("metrics", "GET /metrics: a Prometheus scrape", "/metrics"),
        get(
            "openapi",
            "GET /openapi.json: a large generated document",
            "/openapi.json",
        ),
        get(
            "jwks",
            "GET /.well-known/jwks.json: the public signing keys",
            "/.well-known/jwks.json",
        ),
        Scenario {
            name: "login",
            description: "POST /api/v1/auth/login: one argon2id verification + a session",
            method: "POST",
            path: "/api/v1/auth/login",
            body: Some(login_body),
            ok: &[200],
            bearer: false,
            kind: Kind::Plain,
            records: Some(("session", "session_id")),
        },
        Scenario {
            name: "refresh",
            description: "POST /api/v1/auth/refresh: a rotation (spend one token, store the next, sign a JWT)",
            method: "POST",
            path: "/api/v1/auth/refresh",
            body: Some(refresh_body),
            ok: &[200],
            bearer: false,
            kind: Kind::RefreshChain,
            records: None,
        },
        Scenario {
            name: "authz-check",
            description: "POST /api/v1/authz/check: a permission question for the caller (cached token, session, profile; one decision)",
            method: "POST",
            path: "/api/v1/authz/check",
            body: Some(authz_body),
            ok: &[200],
            bearer: true,
            kind: Kind::Plain,
            records: None,
        },
        Scenario {
            name: "lookup",
            description: "POST /api/v1/users/lookup: 100 profiles by id, from the user-profiles cache",
            method: "POST",
            path: "/api/v1/users/lookup",
            body: Some(lookup_body),
            ok: &[200],
            bearer: true,
            kind: Kind::Lookup,
            records: None,
        },
        Scenario {
            name: "lookup-full",
            description: "POST /api/v1/users/lookup: 100 of 1 000 profiles per request, in turn (the user-profiles cache full at its default size)",
            method: "POST",
            path: "/api/v1/users/lookup",
            body: Some(lookup_body),
            ok: &[200],
            bearer: true,
            kind: Kind::LookupFull,
            records: None,
        },
        Scenario {
            name: "project-create",
            description: "POST /api/v1/projects: project, owner membership, version 1 and audit row in one transaction",
            method: "POST",
            path: "/api/v1/projects",
            body: Some(project_body),
            ok: &[201],
            bearer: true,
            kind: Kind::Plain,
            records: Some(("project", "id")),
        },
        Scenario {
            name: "project-get",
            description: "GET /api/v1/projects/{id}: one project from the projects cache, access decided from the project-access cache",
            method: "GET",
            path: "/api/v1/projects/{id}",
            body: None,
            ok: &[200],
            bearer: true,
            kind: Kind::ProjectGet,
            records: None,
        },
        Scenario {
            name: "workflow-run",
            description: "POST /api/v1/workflows/{id}/executions?wait=30: a 10-step fan-out/fan-in of transform steps, start to finish",
            method: "POST",
            path: "/api/v1/workflows/{id}/executions",
            body: Some(workflow_body),
            ok: &[200],
            bearer: true,
            kind: Kind::WorkflowRun,
            records: Some(("execution", "execution_id")),
        },
        Scenario {
            name: "raw-commit",
            description: "not HTTP: one single-row INSERT committed into --database-url (the yardstick for writes)",
            method: "INSERT",
            path: "-",
            body: None,
            ok: &[200],
            bearer: false,
            kind: Kind::RawCommit,
            records: None,
        },
        Scenario {
            name: "mixed",
            description: "login, profile, project-create and workflow-run (?wait) in turn: a cluster's load (--acknowledged lists the writes)",
            method: "MIXED",
            path: "-",
            body: None,
            ok: &[200],
            bearer: true,
            kind: Kind::Mixed,
            records: None,
        },
        Scenario {
            name: "profile",
            description: "GET /api/v1/users/profile: the authenticated, cached hot path",
            method: "GET",
            path: "/api/v1/users/profile",
            body: None,
            ok: &[200],
            bearer: true,
            kind: Kind::Plain,
            records: None,
        },
    ];
    ALL
}

/// Looks a scenario up by name.
pub fn find(name: &str) -> anyhow::Result<Scenario> {
    if let Some(s) = all().iter().find(|s| s.name == name) {
        Ok(*s)
    } else {
        let names: Vec<_> = all().iter().map(|s| s.name).collect();
        bail!("unknown scenario {name:?}; known: {}", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_takes_turns_and_accepts_a_still_running_execution() {
        let names: Vec<_> = (0..8).map(|seq| mixed_part(seq).name).collect();
        assert_eq!(
            names,
            [
                "login",
                "profile",
                "project-create",
                "workflow-run",
                "login",
                "profile",
                "project-create",
                "workflow-run"
            ]
        );
        assert_eq!(mixed_part(3).ok, &[200, 202]);
        assert_eq!(find("workflow-run").map(|s| s.ok).ok(), Some(&[200u16][..]));
        assert_eq!(mixed_part(2).records, Some(("project", "id")));
    }
}
