//! Per-request context: a request id (honoured from `X-Request-Id` or made, echoed back), a
//! tracing span that puts it on every log line of the request, the request metrics, and a
//! guard that turns a panic into a 500 problem instead of a dropped connection.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use actix_http::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage as _};
use futures::FutureExt as _;
use tracing::Instrument as _;

use crate::http::problem::{self, Problem};
use crate::http::state::AppState;

/// The request id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request counter metric.
pub const REQUESTS_TOTAL: &str = "usvc_http_requests_total";
/// Request latency histogram metric.
pub const REQUEST_DURATION: &str = "usvc_http_request_duration_seconds";

/// A caller's id is kept if it is short and plain (it goes into logs); otherwise a new one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// The method as a metric label: the standard methods by name, anything else (actix accepts
/// any token) as `OTHER`, so a client cannot create unbounded series.
fn method_label(method: &actix_web::http::Method) -> String {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    ];
    let name = method.as_str();
    if KNOWN.contains(&name) {
        name.to_owned()
    } else {
        "OTHER".to_owned()
    }
}

/// The middleware (installed outermost by `build_app`).
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    req.extensions_mut()
        .insert(crate::http::origin::RequestId(id.clone()));
    let method = method_label(req.method());
    let span =
        tracing::info_span!("request", request_id = %id, method = %method, path = %req.path());
    let stats = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.http.clone());
    let exposure = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.exposure.clone())
        .unwrap_or_default();

    let outcome = AssertUnwindSafe(next.call(req))
        .catch_unwind()
        .instrument(span.clone())
        .await;
    // The request cannot be cloned before routing (the router needs it unshared), so the two
    // failure paths answer through an `InternalError` carrying a complete problem response.
    let failure = match outcome {
        Ok(Ok(res)) => Ok(res.map_into_boxed_body()),
        Ok(Err(err)) => {
            let response = err.error_response();
            let response = if problem::is_problem(response.headers()) {
                response
            } else {
                problem::for_status(response.status()).response()
            };
            Err((err.to_string(), response))
        }
        Err(panic) => {
            let message = usvc_logger::panic_message(panic.as_ref());
            span.in_scope(|| tracing::error!(panic = %message, "request handler panicked"));
            metrics::counter!("usvc_panics_total", "task" => "request").increment(1);
            let problem = Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "an internal error occurred; the X-Request-Id header identifies it in the logs",
            );
            Err(("handler panicked".to_owned(), problem.response()))
        }
    };
    let mut res = match failure {
        Ok(res) => res,
        Err((message, mut response)) => {
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            exposure.apply(response.headers_mut());
            finish(
                &span,
                stats.as_deref(),
                &method,
                "unmatched",
                response.status().as_u16(),
                started,
            );
            return Err(actix_web::error::InternalError::from_response(message, response).into());
        }
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    exposure.apply(res.headers_mut());
    // Low-cardinality route label: the matched pattern, never the raw path.
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    finish(
        &span,
        stats.as_deref(),
        &method,
        &route,
        res.status().as_u16(),
        started,
    );
    Ok(res)
}

/// Records the request's metrics and its log line.
fn finish(
    span: &tracing::Span,
    counters: Option<&crate::http::state::HttpStats>,
    method: &str,
    route: &str,
    status: u16,
    started: Instant,
) {
    let elapsed = started.elapsed();
    metrics::counter!(REQUESTS_TOTAL, "method" => method.to_owned(), "route" => route.to_owned(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!(REQUEST_DURATION, "method" => method.to_owned(), "route" => route.to_owned(), "status" => status.to_string())
        .record(elapsed.as_secs_f64());
    if let Some(counters) = counters {
        counters.record(status, elapsed);
    }
    span.in_scope(|| {
        tracing::info!(status, route = %route, elapsed_ms = elapsed.as_secs_f64() * 1000.0, "request finished");
    });
}
