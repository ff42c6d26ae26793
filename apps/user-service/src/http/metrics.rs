//! `GET /metrics`: Prometheus text exposition.
//!
//! Request series are recorded as requests happen; cache, pool and process figures are read at
//! scrape time and written into the same recorder, so one render has everything.

use actix_web::{web, HttpResponse};

use crate::http::process_stats;
use crate::http::state::AppState;

/// Prometheus' text format media type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn refresh(state: &AppState) {
    for stats in state.caches.stats() {
        let cache = stats.name.clone();
        metrics::counter!("usvc_cache_hits_total", "cache" => cache.clone()).absolute(stats.hits);
        metrics::counter!("usvc_cache_misses_total", "cache" => cache.clone())
            .absolute(stats.misses);
        metrics::counter!("usvc_cache_evictions_total", "cache" => cache.clone())
            .absolute(stats.evictions);
        metrics::counter!("usvc_cache_expirations_total", "cache" => cache.clone())
            .absolute(stats.expirations);
        #[allow(clippy::cast_precision_loss)]
        {
            metrics::gauge!("usvc_cache_size", "cache" => cache.clone()).set(stats.size as f64);
            metrics::gauge!("usvc_cache_capacity", "cache" => cache.clone())
                .set(stats.capacity as f64);
        }
        // Also derivable from the two counters; exported for dashboards that want one series.
        metrics::gauge!("usvc_cache_hit_ratio", "cache" => cache).set(stats.hit_rate());
    }
    if let Some(pool) = state.db.health.pool_stats() {
        #[allow(clippy::cast_precision_loss)]
        for (kind, value) in [
            ("max", pool.max_size),
            ("open", pool.size),
            ("idle", pool.available),
            ("waiting", pool.waiting),
        ] {
            metrics::gauge!("usvc_db_pool_connections", "state" => kind).set(value as f64);
        }
    }
    if let Some(process) = process_stats::read() {
        #[allow(clippy::cast_precision_loss)]
        {
            metrics::gauge!("process_resident_memory_bytes")
                .set(process.resident_memory_bytes as f64);
            metrics::gauge!("process_virtual_memory_bytes")
                .set(process.virtual_memory_bytes as f64);
            metrics::gauge!("process_threads").set(process.threads as f64);
            metrics::gauge!("process_open_fds").set(process.open_fds as f64);
        }
        metrics::gauge!("process_cpu_seconds_total").set(process.cpu_seconds);
    }
    #[allow(clippy::cast_precision_loss)]
    metrics::gauge!("process_start_time_seconds").set(state.started_at.timestamp() as f64);
}

/// The workflow engine's backlog, read from the store at scrape time (one short query per
/// figure; a store that does not answer leaves the previous values).
async fn refresh_workflows(state: &AppState) {
    let now = state.clock.now();
    let Ok(queue) = state.db.executions.queue_stats(now).await else {
        return;
    };
    #[allow(clippy::cast_precision_loss)]
    {
        metrics::gauge!("usvc_workflow_ready_steps").set(queue.ready as f64);
        metrics::gauge!("usvc_workflow_steps", "state" => "running").set(queue.running as f64);
        metrics::gauge!("usvc_workflow_steps", "state" => "waiting").set(queue.waiting as f64);
        let age = queue.oldest_ready_at.map_or(0.0, |at| {
            (now - at).num_milliseconds().max(0) as f64 / 1000.0
        });
        metrics::gauge!("usvc_workflow_oldest_ready_seconds").set(age);
        for status in [
            "pending",
            "running",
            "waiting",
            "succeeded",
            "failed",
            "cancelled",
        ] {
            let n = queue
                .executions
                .iter()
                .find(|(s, _)| s.as_str() == status)
                .map_or(0, |(_, n)| *n);
            metrics::gauge!("usvc_workflow_executions", "status" => status).set(n as f64);
        }
    }
}

/// The scrape endpoint.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    security((), ("operator" = [])),
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain"),
        (status = 401, description = "`OPERATOR_TOKEN` is set and the request does not carry it", body = crate::http::problem::Problem, content_type = "application/problem+json")))]
pub async fn metrics(state: web::Data<AppState>, req: actix_web::HttpRequest) -> HttpResponse {
    if let Err(problem) = state.exposure.operator(&req) {
        return problem.response();
    }
    refresh(&state);
    refresh_workflows(&state).await;
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .insert_header(("Cache-Control", "no-store"))
        .body(state.metrics.render())
}
