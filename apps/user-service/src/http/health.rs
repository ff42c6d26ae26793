//! Health endpoints: `/health` (load balancers), `/health/live` and `/health/ready`
//! (Kubernetes probes) and `/health/detailed` (operators; the seed's shape).

use actix_web::{web, HttpResponse};
use serde::Serialize;
use usvc_core::ports::{CacheStats, ComponentHealth, HealthStatus, PoolStats};
use utoipa::ToSchema;

use crate::http::problem::Problem;
use crate::http::process_stats;
use crate::http::state::AppState;

/// The service name in every health body.
pub const SERVICE: &str = "user-service";
/// The running version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `/health` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthBody {
    /// Always `user-service`.
    pub service: &'static str,
    /// `healthy`; `unhealthy` when the database does not answer; `draining` after SIGTERM
    /// (every request is still served, but this replica is about to stop).
    pub status: &'static str,
    /// The running version.
    pub version: &'static str,
    /// Seconds since the process started serving.
    pub uptime_seconds: u64,
}

fn word(status: HealthStatus) -> &'static str {
    match status {
        HealthStatus::Healthy => "healthy",
        HealthStatus::Degraded => "degraded",
        HealthStatus::Unhealthy => "unhealthy",
    }
}

fn respond<T: Serialize>(healthy: bool, body: &T) -> HttpResponse {
    let mut builder = if healthy {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    builder
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

/// Is the service able to serve? Pings the database; 503 while it does not answer or while
/// the process drains after SIGTERM.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, body = HealthBody), (status = 503, body = HealthBody)))]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    // Draining is told at once: a slow database probe must not keep a stopping replica in a
    // balancer's rotation past its drain.
    let draining = state.lifecycle.is_draining();
    if draining {
        return respond(
            false,
            &HealthBody {
                service: SERVICE,
                status: "draining",
                version: VERSION,
                uptime_seconds: state.started.elapsed().as_secs(),
            },
        );
    }
    let db = probe_database(&state).await;
    let healthy = db.status != HealthStatus::Unhealthy;
    respond(
        healthy,
        &HealthBody {
            service: SERVICE,
            status: if healthy { "healthy" } else { "unhealthy" },
            version: VERSION,
            uptime_seconds: state.started.elapsed().as_secs(),
        },
    )
}

/// `/health/live` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveBody {
    /// Always `alive`.
    pub status: &'static str,
}

/// Is the process alive? No I/O, so a slow database never gets a healthy pod restarted.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, body = LiveBody)))]
pub async fn live() -> HttpResponse {
    respond(true, &LiveBody { status: "alive" })
}

/// `/health/ready` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyBody {
    /// `ready`; `not_ready` while the database does not answer; `draining` after SIGTERM
    /// (load balancers should send no new requests; those sent are still served).
    pub status: &'static str,
    /// The database probe.
    #[schema(value_type = Object)]
    pub database_connection: ComponentHealth,
}

/// Should traffic be sent here? Not while the database is unreachable, nor once SIGTERM has
/// started the drain (`SHUTDOWN_DRAIN`).
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses((status = 200, body = ReadyBody), (status = 503, body = ReadyBody)))]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let draining = state.lifecycle.is_draining();
    // While draining the database is not asked (see `health`): its last state is not needed.
    let db = if draining {
        ComponentHealth {
            status: HealthStatus::Degraded,
            latency_ms: 0.0,
            error: Some("not probed: the process is draining".into()),
        }
    } else {
        probe_database(&state).await
    };
    let ready = db.status != HealthStatus::Unhealthy && !draining;
    respond(
        ready,
        &ReadyBody {
            status: match (draining, ready) {
                (true, _) => "draining",
                (false, true) => "ready",
                (false, false) => "not_ready",
            },
            database_connection: db,
        },
    )
}

/// `/health/detailed` body: the seed's shape, every figure measured.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetailedHealth {
    /// Always `user-service`.
    pub service: &'static str,
    /// `healthy`, `degraded` (score below 70) or `unhealthy` (database down).
    pub status: &'static str,
    /// The running version.
    pub version: &'static str,
    /// Seconds since start.
    pub uptime_seconds: u64,
    /// When this report was made (RFC 3339).
    pub timestamp: String,
    /// 0–100, computed from the figures below (see docs/operations.md).
    pub performance_score: f64,
    /// The score's parts.
    pub performance_breakdown: ScoreBreakdown,
    /// Counts of what the service manages.
    pub business_metrics: BusinessMetrics,
    /// Each dependency's state.
    pub infrastructure_status: InfrastructureStatus,
    /// Per-cache counters and hit rates.
    #[schema(value_type = Vec<Object>)]
    pub caches: Vec<CacheReport>,
    /// The database pool.
    #[schema(value_type = Option<Object>)]
    pub database_pool: Option<PoolStats>,
    /// Request and process figures since start.
    pub performance: Performance,
}

/// Counts of what the service manages (cached for 30 s in the `analytics` cache; `null` when
/// the database cannot be counted), and how well the caches serve it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BusinessMetrics {
    /// Tenants, active or disabled.
    pub tenants: Option<u64>,
    /// Users neither deleted nor disabled, across tenants.
    pub active_users: Option<u64>,
    /// Projects neither deleted nor archived, across tenants.
    pub active_projects: Option<u64>,
    /// Workflow executions pending, running or waiting.
    pub running_workflows: Option<u64>,
    /// Hits over lookups of all the named caches since start (1 before any lookup).
    pub cache_hit_rate: f64,
}

/// The score and its parts, each 0–100 (higher is better; see docs/operations.md).
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq)]
pub struct ScoreBreakdown {
    /// `performance_score`.
    pub overall: f64,
    /// The caches' hit rate, as a percentage (100 before 100 lookups).
    pub cache_efficiency: f64,
    /// 100 at a mean request latency of 10 ms or less, 0.5 less per ms above.
    pub response_times: f64,
    /// Headroom in the database pool: 100 minus the share of connections in use (of the most
    /// it may open), 30 less while callers wait for one.
    pub resource_usage: f64,
}

/// The state of each dependency.
#[derive(Debug, Serialize, ToSchema)]
pub struct InfrastructureStatus {
    /// The database.
    pub database_connection: ComponentReport,
    /// The in-process caches.
    pub cache_service: ComponentReport,
    /// Cache invalidation between replicas.
    pub invalidation: ComponentReport,
    /// The SMTP relay and the OpenTelemetry collector: whether a connection opens (probed at
    /// most every 30 s).
    pub external_apis: Vec<crate::http::external_apis::ExternalApi>,
}

/// One dependency.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentReport {
    /// `healthy`, `degraded` or `unhealthy`.
    pub status: &'static str,
    /// What implements it (`sqlite`, `postgres`, `in-process`, …).
    pub backend: &'static str,
    /// Probe round trip, when probed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Why it is not healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A cache's counters with its hit rate.
#[derive(Debug, Serialize)]
pub struct CacheReport {
    #[serde(flatten)]
    stats: CacheStats,
    hit_rate: f64,
}

/// Request and process figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct Performance {
    /// Requests answered since start.
    pub requests_total: u64,
    /// Of which 5xx.
    pub server_errors_total: u64,
    /// `server_errors_total / requests_total`.
    pub error_rate: f64,
    /// Mean request latency in milliseconds.
    pub mean_latency_ms: f64,
    /// Resident memory, where the platform reports it.
    pub resident_memory_bytes: Option<u64>,
    /// CPU seconds used, where the platform reports it.
    pub cpu_seconds: Option<f64>,
}

/// The score's inputs, so the formula can be tested on its own.
#[derive(Debug, Clone, Copy)]
pub struct ScoreInputs {
    /// Whether the database answered.
    pub database_up: bool,
    /// Its round trip in ms.
    pub database_latency_ms: f64,
    /// 5xx fraction of all requests.
    pub error_rate: f64,
    /// Whether callers are queueing for database connections.
    pub pool_waiting: bool,
    /// Overall cache hit rate and how many lookups it rests on.
    pub cache_hit_rate: f64,
    /// Cache lookups so far.
    pub cache_lookups: u64,
}

/// 100 minus penalties: database latency above 5 ms (up to 30), server errors (up to 40),
/// pool waits (10), cache hit rate below 100% once there are 100 lookups (up to 20).
/// 0 when the database is down.
pub fn performance_score(i: ScoreInputs) -> f64 {
    if !i.database_up {
        return 0.0;
    }
    let latency = ((i.database_latency_ms - 5.0).max(0.0) * 0.5).min(30.0);
    let errors = (i.error_rate * 400.0).min(40.0);
    let pool = if i.pool_waiting { 10.0 } else { 0.0 };
    let cache = if i.cache_lookups >= 100 {
        ((1.0 - i.cache_hit_rate) * 20.0).clamp(0.0, 20.0)
    } else {
        0.0
    };
    let score = (100.0 - latency - errors - pool - cache).max(0.0);
    (score * 10.0).round() / 10.0
}

/// Probes the database, timed as `database.ping` in `usvc_operation_duration_seconds`.
async fn probe_database(state: &AppState) -> ComponentHealth {
    usvc_logger::timed("database.ping", state.db.health.check()).await
}

async fn counts(state: &AppState) -> Option<usvc_core::ServiceCounts> {
    let census = state.db.census.clone();
    usvc_core::ports::Cache::get_or_load(
        state.analytics.as_ref(),
        "service".to_owned(),
        Box::pin(async move { usvc_logger::timed("service.counts", census.counts()).await }),
    )
    .await
    .ok()
}

/// The parts of the score that are not penalties on it: cache hit rate, mean request
/// latency, pool headroom.
#[allow(clippy::cast_precision_loss)]
pub fn breakdown(
    overall: f64,
    cache_hit_rate: f64,
    cache_lookups: u64,
    mean_latency_ms: f64,
    pool: Option<PoolStats>,
) -> ScoreBreakdown {
    let round = |x: f64| (x.clamp(0.0, 100.0) * 10.0).round() / 10.0;
    let cache_efficiency = if cache_lookups >= 100 {
        cache_hit_rate * 100.0
    } else {
        100.0
    };
    let response_times = 100.0 - (mean_latency_ms - 10.0).max(0.0) * 0.5;
    let resource_usage = pool.map_or(100.0, |p| {
        let in_use = p.size.saturating_sub(p.available) as f64 / p.max_size.max(1) as f64;
        100.0 - in_use * 100.0 - if p.waiting > 0 { 30.0 } else { 0.0 }
    });
    ScoreBreakdown {
        overall,
        cache_efficiency: round(cache_efficiency),
        response_times: round(response_times),
        resource_usage: round(resource_usage),
    }
}

fn report(db: &ComponentHealth, backend: &'static str) -> ComponentReport {
    ComponentReport {
        status: word(db.status),
        backend,
        latency_ms: Some((db.latency_ms * 1000.0).round() / 1000.0),
        error: db.error.clone(),
    }
}

/// Each dependency's state: the database as probed, the caches, the invalidation bus, and
/// the external services as last probed.
fn infrastructure(
    state: &AppState,
    db: &ComponentHealth,
    external_apis: Vec<crate::http::external_apis::ExternalApi>,
) -> InfrastructureStatus {
    InfrastructureStatus {
        database_connection: report(db, state.db.backend),
        cache_service: ComponentReport {
            status: "healthy",
            backend: "in-process",
            latency_ms: None,
            error: None,
        },
        invalidation: ComponentReport {
            status: if state.db.invalidation.is_connected() {
                "healthy"
            } else {
                "degraded"
            },
            backend: if state.db.backend == "postgres" {
                "postgres-listen-notify"
            } else {
                "in-process"
            },
            latency_ms: None,
            error: None,
        },
        external_apis,
    }
}

/// Everything an operator needs on one page.
#[utoipa::path(get, path = "/health/detailed", tag = "health",
    security((), ("operator" = [])),
    responses((status = 200, body = DetailedHealth), (status = 503, body = DetailedHealth),
        (status = 401, description = "`OPERATOR_TOKEN` is set and the request does not carry it", body = Problem, content_type = "application/problem+json")))]
#[allow(clippy::cast_precision_loss)]
pub async fn detailed(state: web::Data<AppState>, req: actix_web::HttpRequest) -> HttpResponse {
    if let Err(problem) = state.exposure.operator(&req) {
        return problem.response();
    }
    let db = probe_database(&state).await;
    let database_up = db.status != HealthStatus::Unhealthy;
    let counts = if database_up {
        counts(&state).await
    } else {
        None
    };
    let external_apis = state.external_apis.report().await;
    let caches: Vec<CacheReport> = state
        .caches
        .stats()
        .into_iter()
        .map(|stats| CacheReport {
            hit_rate: stats.hit_rate(),
            stats,
        })
        .collect();
    let (hits, lookups) = caches.iter().fold((0, 0), |(h, l), c| {
        (h + c.stats.hits, l + c.stats.hits + c.stats.misses)
    });
    let pool = state.db.health.pool_stats();
    let (requests, server_errors, mean_latency_ms) = state.http.snapshot();
    let error_rate = if requests == 0 {
        0.0
    } else {
        server_errors as f64 / requests as f64
    };
    let cache_hit_rate = if lookups == 0 {
        1.0
    } else {
        hits as f64 / lookups as f64
    };
    let score = performance_score(ScoreInputs {
        database_up,
        database_latency_ms: db.latency_ms,
        error_rate,
        pool_waiting: pool.is_some_and(|p| p.waiting > 0),
        cache_hit_rate,
        cache_lookups: lookups,
    });
    let performance_breakdown = breakdown(score, cache_hit_rate, lookups, mean_latency_ms, pool);
    let status = if !database_up {
        "unhealthy"
    } else if score < 70.0 {
        "degraded"
    } else {
        "healthy"
    };
    let process = process_stats::read();
    let body = DetailedHealth {
        service: SERVICE,
        status,
        version: VERSION,
        uptime_seconds: state.started.elapsed().as_secs(),
        timestamp: state.clock.now().to_rfc3339(),
        performance_score: score,
        performance_breakdown,
        business_metrics: BusinessMetrics {
            tenants: counts.map(|c| c.tenants),
            active_users: counts.map(|c| c.active_users),
            active_projects: counts.map(|c| c.active_projects),
            running_workflows: counts.map(|c| c.running_workflows),
            cache_hit_rate: (cache_hit_rate * 10_000.0).round() / 10_000.0,
        },
        infrastructure_status: infrastructure(&state, &db, external_apis),
        caches,
        database_pool: pool,
        performance: Performance {
            requests_total: requests,
            server_errors_total: server_errors,
            error_rate,
            mean_latency_ms: (mean_latency_ms * 1000.0).round() / 1000.0,
            resident_memory_bytes: process.map(|p| p.resident_memory_bytes),
            cpu_seconds: process.map(|p| p.cpu_seconds),
        },
    };
    respond(database_up, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> ScoreInputs {
        ScoreInputs {
            database_up: true,
            database_latency_ms: 1.0,
            error_rate: 0.0,
            pool_waiting: false,
            cache_hit_rate: 1.0,
            cache_lookups: 0,
        }
    }

    #[test]
    fn a_fast_error_free_service_scores_100_and_a_dead_database_0() {
        assert!((performance_score(inputs()) - 100.0).abs() < f64::EPSILON);
        let down = ScoreInputs {
            database_up: false,
            ..inputs()
        };
        assert!(performance_score(down).abs() < f64::EPSILON);
    }

    #[test]
    fn the_breakdown_reads_hit_rate_latency_and_pool_headroom() {
        let pool = |size, available, waiting| {
            Some(PoolStats {
                max_size: 10,
                size,
                available,
                waiting,
            })
        };
        let b = breakdown(90.0, 0.8, 1000, 30.0, pool(4, 2, 0));
        assert_eq!(
            b,
            ScoreBreakdown {
                overall: 90.0,
                cache_efficiency: 80.0,
                response_times: 90.0,
                resource_usage: 80.0,
            }
        );
        let strained = breakdown(50.0, 0.1, 10, 500.0, pool(10, 0, 3));
        assert!(
            (strained.cache_efficiency - 100.0).abs() < 1e-9,
            "too few lookups"
        );
        assert!(strained.response_times.abs() < 1e-9);
        assert!(strained.resource_usage.abs() < 1e-9, "never below 0");
    }

    #[test]
    fn each_symptom_costs_points_within_its_cap() {
        let slow = ScoreInputs {
            database_latency_ms: 25.0,
            ..inputs()
        };
        assert!((performance_score(slow) - 90.0).abs() < 1e-9);
        let failing = ScoreInputs {
            error_rate: 1.0,
            ..inputs()
        };
        assert!((performance_score(failing) - 60.0).abs() < 1e-9);
        let cold = ScoreInputs {
            cache_hit_rate: 0.5,
            cache_lookups: 1000,
            ..inputs()
        };
        assert!((performance_score(cold) - 90.0).abs() < 1e-9);
        let few_lookups = ScoreInputs {
            cache_hit_rate: 0.0,
            cache_lookups: 10,
            ..inputs()
        };
        assert!((performance_score(few_lookups) - 100.0).abs() < 1e-9);
    }
}
