//! The scenario registry. A scenario is one kind of request; later issues add theirs here
//! (with a body builder for writes, and the status codes that count as success).

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
    pub body: Option<fn(seq: u64) -> String>,
    /// Statuses that count as success.
    pub ok: &'static [u16],
}

const fn get(name: &'static str, description: &'static str, path: &'static str) -> Scenario {
    Scenario {
        name,
        description,
        method: "GET",
        path,
        body: None,
        ok: &[200],
    }
}

/// Every scenario.
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
