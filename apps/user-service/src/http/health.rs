//! Health endpoints: `/health` (load balancers), `/health/live` and `/health/ready`
//! (Kubernetes probes) and `/health/detailed` (operators; the seed's shape).

use actix_web::{web, HttpResponse};
use serde::Serialize;
use usvc_core::ports::{CacheStats, ComponentHealth, HealthStatus, PoolStats};
use utoipa::ToSchema;

use crate::http::problem::Problem;
use crate::process_stats;
use crate::state::AppState;

/// The service name in every health body.
pub const SERVICE: &str = "user-service";
/// The running version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `/health` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthBody {
    /// Always `user-service`.
    pub service: &'static str,
    /// `healthy`, or `unhealthy` when the database does not answer.
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

/// Is the service able to serve? Pings the database.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, body = HealthBody), (status = 503, body = HealthBody)))]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
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
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// The database probe.
    #[schema(value_type = Object)]
    pub database_connection: ComponentHealth,
}

/// Should traffic be sent here? Not while the database is unreachable.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses((status = 200, body = ReadyBody), (status = 503, body = ReadyBody)))]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let db = probe_database(&state).await;
    let ready = db.status != HealthStatus::Unhealthy;
    respond(
        ready,
        &ReadyBody {
            status: if ready { "ready" } else { "not_ready" },
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

/// Counts of what the service manages (cached for 30 s in the `analytics` cache).
#[derive(Debug, Serialize, ToSchema)]
pub struct BusinessMetrics {
    /// Tenants, or `null` when the database cannot be counted.
    pub tenants: Option<u64>,
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

async fn tenant_count(state: &AppState) -> Option<u64> {
    let tenants = state.db.tenants.clone();
    usvc_core::ports::Cache::get_or_load(
        state.analytics.as_ref(),
        "tenants".to_owned(),
        Box::pin(async move { usvc_logger::timed("tenants.count", tenants.count()).await }),
    )
    .await
    .ok()
}

fn report(db: &ComponentHealth, backend: &'static str) -> ComponentReport {
    ComponentReport {
        status: word(db.status),
        backend,
        latency_ms: Some((db.latency_ms * 1000.0).round() / 1000.0),
        error: db.error.clone(),
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
    let tenants = if database_up {
        tenant_count(&state).await
    } else {
        None
    };
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
    let score = performance_score(ScoreInputs {
        database_up,
        database_latency_ms: db.latency_ms,
        error_rate,
        pool_waiting: pool.is_some_and(|p| p.waiting > 0),
        cache_hit_rate: if lookups == 0 {
            1.0
        } else {
            hits as f64 / lookups as f64
        },
        cache_lookups: lookups,
    });
    let status = if !database_up {
        "unhealthy"
    } else if score < 70.0 {
        "degraded"
    } else {
        "healthy"
    };
    let process = process_stats::read();
    let invalidation_backend = if state.db.backend == "postgres" {
        "postgres-listen-notify"
    } else {
        "in-process"
    };
    let body = DetailedHealth {
        service: SERVICE,
        status,
        version: VERSION,
        uptime_seconds: state.started.elapsed().as_secs(),
        timestamp: chrono::Utc::now().to_rfc3339(),
        performance_score: score,
        business_metrics: BusinessMetrics { tenants },
        infrastructure_status: InfrastructureStatus {
            database_connection: report(&db, state.db.backend),
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
                backend: invalidation_backend,
                latency_ms: None,
                error: None,
            },
        },
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
