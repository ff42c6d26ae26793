//! HTTP behaviour of the whole stack (routes, middleware, error mapping) via `actix_web::test`.
#![allow(missing_docs)]
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a failed set-up should panic loudly.

mod support;

use support::TestApp;

use std::sync::Arc;

use actix_web::http::{Method, StatusCode};
use actix_web::{test, web, HttpResponse};
use chrono::Utc;
use serde_json::{json, Value};
use user_service::http::{build_app, resource, routes};
use usvc_core::ports::{ComponentHealth, HealthStatus, MockHealthCheck};
use usvc_core::NewTenant;

const MAX_BODY: usize = 1024 * 1024;

fn assert_problem<B>(res: &actix_web::dev::ServiceResponse<B>, status: StatusCode) {
    assert_eq!(res.status(), status);
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert_eq!(content_type, "application/problem+json");
}

#[actix_web::test]
async fn health_answers_the_seed_shape() {
    let t = TestApp::sqlite().start().await;
    let app = t.service().await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/health").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["service"], "user-service");
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["uptime_seconds"].is_u64());
}

fn dead_database() -> Arc<MockHealthCheck> {
    let mut probe = MockHealthCheck::new();
    probe.expect_name().return_const("database_connection");
    probe.expect_check().returning(|| ComponentHealth {
        status: HealthStatus::Unhealthy,
        latency_ms: 5000.0,
        error: Some("cannot connect to the database".into()),
    });
    probe.expect_pool_stats().returning(|| None);
    Arc::new(probe)
}

#[actix_web::test]
async fn a_dead_database_makes_health_and_ready_503_but_not_live() {
    let t = TestApp::sqlite().with_health(dead_database()).start().await;
    let app = t.service().await;

    let res = test::call_service(&app, test::TestRequest::get().uri("/health").to_request()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["status"], "unhealthy");

    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/health/ready").to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["status"], "not_ready");
    assert_eq!(
        body["database_connection"]["error"],
        "cannot connect to the database"
    );

    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/health/detailed")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["performance_score"], 0.0);
    assert_eq!(
        body["infrastructure_status"]["database_connection"]["status"],
        "unhealthy"
    );

    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/health/live").to_request(),
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "liveness must not depend on the database"
    );
}

#[actix_web::test]
async fn detailed_health_reports_measured_figures() {
    let t = TestApp::sqlite().start().await;
    for slug in ["acme", "globex"] {
        let tenant = NewTenant::parse(slug, slug)
            .expect("valid")
            .into_tenant(Utc::now());
        let entry = usvc_core::AuditEntry::system(tenant.id, "tenant.created", Utc::now());
        t.state
            .db
            .tenants
            .create(&tenant, &entry)
            .await
            .expect("create");
    }
    let app = t.service().await;
    let get = || {
        test::TestRequest::get()
            .uri("/health/detailed")
            .to_request()
    };
    let first: Value = test::read_body_json(test::call_service(&app, get()).await).await;
    let second: Value = test::read_body_json(test::call_service(&app, get()).await).await;

    assert_eq!(first["service"], "user-service");
    assert_eq!(first["status"], "healthy");
    assert_eq!(
        first["business_metrics"]["tenants"], 3,
        "counted from the database: `default` (bootstrap) and the two created here"
    );
    let db = &first["infrastructure_status"]["database_connection"];
    assert_eq!(db["status"], "healthy");
    assert_eq!(db["backend"], "sqlite");
    assert!(db["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{db}");
    assert!(first["infrastructure_status"]["cache_service"]["status"].is_string());
    let score = first["performance_score"].as_f64().expect("a number");
    assert!((0.0..=100.0).contains(&score));
    let business = &first["business_metrics"];
    assert_eq!(
        business["active_users"], 1,
        "the bootstrap owner: {business}"
    );
    assert_eq!(business["active_projects"], 0);
    assert_eq!(business["running_workflows"], 0);
    assert!(business["cache_hit_rate"].as_f64().is_some(), "{business}");
    let parts = &first["performance_breakdown"];
    assert_eq!(parts["overall"], first["performance_score"]);
    for part in ["cache_efficiency", "response_times", "resource_usage"] {
        assert!(
            parts[part]
                .as_f64()
                .is_some_and(|p| (0.0..=100.0).contains(&p)),
            "{part}: {parts}"
        );
    }
    assert_eq!(
        first["infrastructure_status"]["external_apis"],
        json!([{"name": "smtp", "status": "not_configured", "endpoint": null},
               {"name": "otlp", "status": "not_configured", "endpoint": null}])
    );
    assert!(first["database_pool"]["max_size"].as_u64() >= Some(1));
    assert!(first["performance"]["requests_total"].as_u64().is_some());

    // The tenant count is cached: the second report is a hit in the analytics cache.
    let analytics = second["caches"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "analytics"))
        .cloned()
        .expect("analytics cache listed");
    assert_eq!(analytics["hits"], 1);
    assert_eq!(analytics["misses"], 1);
    assert_eq!(analytics["hit_rate"], 0.5);
    assert!(second["performance"]["requests_total"].as_u64() >= Some(1));
}

#[actix_web::test]
async fn detailed_health_probes_the_smtp_relay_and_the_otlp_collector() {
    let relay = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (relay_at, closed_at) = (relay.local_addr().unwrap(), closed.local_addr().unwrap());
    drop(closed);
    let t = TestApp::sqlite()
        .with_settings(&[
            ("SMTP_URL", &format!("smtp://mailer:secret@{relay_at}")),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                &format!("http://{closed_at}"),
            ),
        ])
        .start()
        .await;
    let app = t.service().await;
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/health/detailed")
            .to_request(),
    )
    .await;
    let body: Value = test::read_body_json(res).await;
    let apis = &body["infrastructure_status"]["external_apis"];
    assert_eq!(apis[0]["name"], "smtp");
    assert_eq!(apis[0]["status"], "healthy", "{apis}");
    assert_eq!(
        apis[0]["endpoint"],
        relay_at.to_string(),
        "no credentials shown"
    );
    assert_eq!(apis[1]["name"], "otlp");
    assert_eq!(apis[1]["status"], "unhealthy", "{apis}");
    assert!(apis[1]["error"].is_string());
}

#[actix_web::test]
async fn an_in_memory_database_is_migrated_and_served() {
    let t = TestApp::on("sqlite::memory:").start().await;
    let app = t.service().await;
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/health/detailed")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(
        body["business_metrics"]["tenants"], 1,
        "migrated and bootstrapped in the one in-memory database: {body}"
    );
}

#[actix_web::test]
async fn jwks_publishes_the_ed25519_key_that_verifies_issued_tokens() {
    use usvc_core::ports::{TokenRequest, TokenService as _};
    let t = TestApp::sqlite().start().await;
    let issued = t
        .state
        .tokens
        .issue(&TokenRequest {
            user: usvc_core::UserId::new(),
            tenant: usvc_core::TenantId::new(),
            session: usvc_core::SessionId::new(),
            roles: vec!["member".into()],
            client_id: None,
            scope: None,
        })
        .expect("issue");
    let app = t.service().await;
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/.well-known/jwks.json")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let cache = res
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(cache.as_deref(), Some("public, max-age=60"));
    let jwks: Value = test::read_body_json(res).await;
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(
        keys.len(),
        2,
        "a fresh database gets exactly one key per algorithm"
    );
    assert_eq!(keys[1]["kty"], "RSA");
    assert_eq!(keys[1]["alg"], "RS256");
    assert!(keys[1].get("d").is_none() && keys[1].get("p").is_none());
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert!(keys[0].get("d").is_none(), "never the private part");
    let header = issued.token.split('.').next().expect("header");
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
            .expect("b64"),
    )
    .expect("json");
    assert_eq!(
        header["kid"], keys[0]["kid"],
        "tokens name the published key"
    );
}

#[actix_web::test]
async fn probes_answer_head_too() {
    let t = TestApp::sqlite().start().await;
    let app = t.service().await;
    for uri in ["/health", "/health/live", "/health/ready"] {
        let res = test::call_service(
            &app,
            test::TestRequest::default()
                .method(actix_web::http::Method::HEAD)
                .uri(uri)
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "HEAD {uri}");
    }
}

#[actix_web::test]
async fn unknown_routes_and_wrong_methods_are_problems() {
    let t = TestApp::sqlite().start().await;
    let app = t.service().await;

    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/no/such/thing").to_request(),
    )
    .await;
    assert_problem(&res, StatusCode::NOT_FOUND);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["status"], 404);
    assert_eq!(body["detail"], "no resource at GET /no/such/thing");

    let res = test::call_service(
        &app,
        test::TestRequest::delete().uri("/health").to_request(),
    )
    .await;
    assert_problem(&res, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        res.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("GET, HEAD")
    );
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["code"], "method_not_allowed");
}

fn id_of<B>(res: &actix_web::dev::ServiceResponse<B>) -> String {
    res.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("x-request-id on every response")
}

#[actix_web::test]
async fn request_ids_are_honoured_made_and_sanitised() {
    let t = TestApp::sqlite().start().await;
    let app = t.service().await;

    let req = test::TestRequest::get()
        .uri("/health/live")
        .insert_header(("X-Request-Id", "trace-42.a:b_c"))
        .to_request();
    assert_eq!(
        id_of(&test::call_service(&app, req).await),
        "trace-42.a:b_c"
    );

    let made = id_of(
        &test::call_service(
            &app,
            test::TestRequest::get().uri("/health/live").to_request(),
        )
        .await,
    );
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");

    let req = test::TestRequest::get()
        .uri("/health/live")
        .insert_header(("X-Request-Id", "evil\tvalue with spaces"))
        .to_request();
    let replaced = id_of(&test::call_service(&app, req).await);
    assert!(
        uuid::Uuid::parse_str(&replaced).is_ok(),
        "unsafe ids are replaced: {replaced}"
    );

    let res = test::call_service(&app, test::TestRequest::get().uri("/missing").to_request()).await;
    id_of(&res); // errors carry one too
}

/// Checks the Prometheus text exposition format line by line.
fn assert_prometheus_text(text: &str) {
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut parts = comment.split_whitespace();
            let keyword = parts.next();
            assert!(
                matches!(keyword, Some("TYPE" | "HELP")),
                "bad comment: {line}"
            );
            if keyword == Some("TYPE") {
                let kind = parts.nth(1);
                assert!(
                    matches!(
                        kind,
                        Some("counter" | "gauge" | "histogram" | "summary" | "untyped")
                    ),
                    "bad type: {line}"
                );
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("`series value`");
        assert!(
            value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value),
            "bad value: {line}"
        );
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name: {line}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "unterminated labels: {line}");
        }
    }
}

#[actix_web::test]
async fn metrics_are_prometheus_text_with_request_cache_pool_and_process_series() {
    let t = TestApp::sqlite().start().await;
    let app = t.service().await;
    for uri in [
        "/health",
        "/health/live",
        "/health/detailed",
        "/health/detailed",
        "/nowhere",
    ] {
        test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
    }
    // Invented methods must not mint new series.
    for invented in ["BREW", "XYZZY"] {
        let method = actix_web::http::Method::from_bytes(invented.as_bytes()).expect("token");
        let req = test::TestRequest::default()
            .method(method)
            .uri("/nowhere")
            .to_request();
        test::call_service(&app, req).await;
    }
    let res = test::call_service(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(
        content_type.as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = String::from_utf8(test::read_body(res).await.to_vec()).expect("utf-8");
    assert_prometheus_text(&text);
    assert!(!text.contains("BREW") && !text.contains("XYZZY"), "{text}");
    for expected in [
        "usvc_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"}",
        "usvc_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}",
        "usvc_http_requests_total{method=\"OTHER\",route=\"unmatched\",status=\"404\"} 2",
        "usvc_http_request_duration_seconds_bucket{method=\"GET\",route=\"/health/live\",status=\"200\",le=\"0.001\"}",
        "usvc_cache_hits_total{cache=\"analytics\"}",
        "usvc_operation_duration_seconds_count{operation=\"database.ping\"}",
        "usvc_operation_duration_seconds_count{operation=\"service.counts\"}",
        "usvc_cache_misses_total{cache=\"analytics\"}",
        "usvc_cache_size{cache=\"analytics\"}",
        "usvc_db_pool_connections{state=\"max\"}",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
}

#[actix_web::test]
async fn openapi_and_docs_are_served() {
    let t = TestApp::sqlite().start().await;
    let app = t.service().await;
    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/openapi.json").to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let spec: Value = test::read_body_json(res).await;
    assert_eq!(spec["openapi"], "3.1.0");
    for path in [
        "/health",
        "/health/live",
        "/health/ready",
        "/health/detailed",
        "/metrics",
    ] {
        assert!(
            spec["paths"][path]["get"].is_object(),
            "{path} missing from the spec"
        );
    }
    assert!(spec["components"]["schemas"]["Problem"].is_object());
    for (method, path) in [
        ("post", "/api/v1/auth/login"),
        ("post", "/api/v1/auth/refresh"),
        ("post", "/api/v1/auth/logout"),
        ("post", "/api/v1/auth/logout-all"),
        ("post", "/api/v1/auth/register"),
        ("post", "/api/v1/auth/password/change"),
        ("get", "/api/v1/auth/sessions"),
        ("delete", "/api/v1/auth/sessions/{session_id}"),
        ("get", "/api/v1/users/profile"),
        ("post", "/api/v1/users/profile"),
        ("patch", "/api/v1/users/profile"),
        ("get", "/api/v1/users"),
        ("post", "/api/v1/users"),
        ("get", "/api/v1/users/{user_id}"),
        ("patch", "/api/v1/users/{user_id}"),
        ("delete", "/api/v1/users/{user_id}"),
        ("post", "/api/v1/users/lookup"),
        ("post", "/api/v1/users/import"),
        ("get", "/api/v1/tenant"),
        ("patch", "/api/v1/tenant/settings"),
        ("get", "/.well-known/jwks.json"),
        ("post", "/api/v1/auth/mfa/verify"),
        ("get", "/api/v1/analytics/users"),
        ("post", "/api/v1/authz/check"),
        ("get", "/api/v1/roles"),
        ("post", "/api/v1/roles"),
        ("get", "/api/v1/roles/{role_id}"),
        ("put", "/api/v1/roles/{role_id}"),
        ("delete", "/api/v1/roles/{role_id}"),
        ("put", "/api/v1/users/{user_id}/roles"),
        ("post", "/api/v1/authz/check-batch"),
        ("post", "/api/v1/auth/password/forgot"),
        ("post", "/api/v1/auth/password/reset"),
        ("post", "/api/v1/auth/verify-email"),
        ("post", "/api/v1/auth/verify-email/send"),
        ("post", "/api/v1/auth/mfa/totp/enroll"),
        ("post", "/api/v1/auth/mfa/totp/confirm"),
        ("delete", "/api/v1/auth/mfa/totp"),
        ("post", "/api/v1/auth/mfa/recovery-codes"),
    ] {
        assert!(
            spec["paths"][path][method].is_object(),
            "{method} {path} missing from the spec"
        );
    }

    let res = test::call_service(&app, test::TestRequest::get().uri("/docs").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = String::from_utf8(test::read_body(res).await.to_vec()).expect("utf-8");
    assert!(html.contains("/openapi.json") && html.starts_with("<!doctype html>"));
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Echo {
    name: String,
}

async fn echo(body: user_service::http::body::Json<Echo>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "name": body.name }))
}

async fn echo_optional(body: user_service::http::body::MaybeJson<Echo>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "name": body.0.map(|b| b.name) }))
}

async fn boom() -> HttpResponse {
    panic!("a bug in a handler")
}

/// The real stack plus a JSON endpoint and a panicking one, to exercise body handling and the
/// panic guard before the domain endpoints exist.
fn test_routes(cfg: &mut web::ServiceConfig) {
    routes(cfg);
    cfg.service(resource("/test/echo", "POST").route(web::post().to(echo)))
        .service(resource("/test/echo-optional", "POST").route(web::post().to(echo_optional)))
        .service(resource("/test/boom", "GET").route(web::get().to(boom)));
}

#[actix_web::test]
async fn bad_bodies_are_clear_4xx_problems() {
    let t = TestApp::sqlite().start().await;
    let app = test::init_service(build_app(t.state.clone(), 64, test_routes)).await;
    let post = |body: &'static str, content_type: &'static str| {
        test::TestRequest::post()
            .uri("/test/echo")
            .insert_header(("content-type", content_type))
            .set_payload(body)
            .to_request()
    };

    let res = test::call_service(&app, post(r#"{"name":"ok"}"#, "application/json")).await;
    assert_eq!(res.status(), StatusCode::OK);

    let cases = [
        (
            post(r#"{"name": "#, "application/json"),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            post(r#"{"name":"x","extra":1}"#, "application/json"),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            post(r#"{"name":1}"#, "application/json"),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        // serde reads an array of the fields as the struct; the spec says object.
        (
            post(r#"["x"]"#, "application/json"),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            post(r#"{"name":"x"}"#, "text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            post(
                r#"{"name":"this body is longer than the sixty-four byte limit of this app"}"#,
                "application/json",
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (req, status, code) in cases {
        let res = test::call_service(&app, req).await;
        assert_problem(&res, status);
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["code"], code, "{body}");
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
}

#[actix_web::test]
async fn an_optional_body_may_be_left_out_but_a_bad_one_is_refused() {
    let t = TestApp::sqlite().start().await;
    let app = test::init_service(build_app(t.state.clone(), MAX_BODY, test_routes)).await;
    let post = |body: &'static str, content_type: Option<&'static str>| {
        let mut req = test::TestRequest::post()
            .uri("/test/echo-optional")
            .set_payload(body);
        if let Some(ct) = content_type {
            req = req.insert_header(("content-type", ct));
        }
        req.to_request()
    };
    for (req, name) in [
        (post("", None), Value::Null),
        (post(" \n", Some("application/json")), Value::Null),
        (
            post(r#"{"name":"x"}"#, Some("application/json")),
            "x".into(),
        ),
    ] {
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["name"], name);
    }
    for (req, status, code) in [
        (
            post("{", Some("application/json")),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            post("[]", Some("application/json")),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            post(r#"{"name":"x"}"#, Some("text/plain")),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
    ] {
        let res = test::call_service(&app, req).await;
        assert_problem(&res, status);
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["code"], code, "{body}");
    }
}

#[actix_web::test]
async fn a_panicking_handler_is_a_500_problem_and_the_app_keeps_serving() {
    let t = TestApp::sqlite().start().await;
    let app = test::init_service(build_app(t.state.clone(), MAX_BODY, test_routes)).await;
    let res = test::try_call_service(
        &app,
        test::TestRequest::get().uri("/test/boom").to_request(),
    )
    .await;
    // The guard answers through an error carrying the complete problem response.
    let response = match res {
        Ok(res) => panic!("expected the panic guard's error, got {}", res.status()),
        Err(err) => err.error_response(),
    };
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(
        response.headers().get("x-content-type-options").unwrap(),
        "nosniff",
        "security headers on a panic's answer too"
    );
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    let body = actix_web::body::to_bytes(response.into_body())
        .await
        .expect("body");
    let body: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(body["code"], "internal");
    assert!(
        !body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("a bug"),
        "no internals leak"
    );

    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/health/live").to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// Every answer — a page, a problem, the docs — carries the security headers; HSTS only when
/// the service is reached over https.
#[actix_web::test]
async fn every_response_carries_the_security_headers() {
    let t = TestApp::sqlite().start().await;
    let app = t.service().await;
    for uri in [
        "/health",
        "/docs",
        "/openapi.json",
        "/nowhere",
        "/api/v1/users",
    ] {
        let res = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
        let header = |name: &str| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(
            header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{uri}"
        );
        assert_eq!(
            header("referrer-policy").as_deref(),
            Some("no-referrer"),
            "{uri}"
        );
        assert!(
            header("content-security-policy")
                .is_some_and(|csp| csp.contains("frame-ancestors 'none'")),
            "{uri}"
        );
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{uri}");
        assert_eq!(
            header("strict-transport-security"),
            None,
            "plain http: {uri}"
        );
    }
    let t = TestApp::sqlite()
        .with_settings(&[("PUBLIC_URL", "https://id.example.com")])
        .start()
        .await;
    let app = t.service().await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/health").to_request()).await;
    assert!(res.headers().get("strict-transport-security").is_some());
}

/// With `OPERATOR_TOKEN` set, `/metrics` and `/health/detailed` answer only its bearer; the
/// probes stay open.
#[actix_web::test]
async fn an_operator_token_guards_metrics_and_detailed_health() {
    const TOKEN: &str = "operator-token-with-thirty-two-chars-or-more";
    let t = TestApp::sqlite()
        .with_settings(&[("OPERATOR_TOKEN", TOKEN)])
        .start()
        .await;
    let app = t.service().await;
    for uri in ["/metrics", "/health/detailed"] {
        let res = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
        assert_problem(&res, StatusCode::UNAUTHORIZED);
        let wrong = test::TestRequest::get()
            .uri(uri)
            .insert_header((
                "Authorization",
                "Bearer operator-token-with-thirty-two-chars-or-less",
            ))
            .to_request();
        assert_eq!(
            test::call_service(&app, wrong).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let right = test::TestRequest::get()
            .uri(uri)
            .insert_header(("Authorization", format!("Bearer {TOKEN}")))
            .to_request();
        assert_eq!(
            test::call_service(&app, right).await.status(),
            StatusCode::OK,
            "{uri}"
        );
    }
    for uri in ["/health", "/health/live", "/health/ready"] {
        let res = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{uri}");
    }
}

/// A clock chosen for the app is the only time it knows: the domains stamp changes with it,
/// the store's transactions read it, tokens are issued and checked by it, handlers report it.
#[actix_web::test]
async fn a_chosen_clock_is_the_only_time_the_service_knows() {
    struct Fixed(chrono::DateTime<chrono::Utc>);
    impl usvc_core::ports::Clock for Fixed {
        fn now(&self) -> chrono::DateTime<chrono::Utc> {
            self.0
        }
    }
    let then: chrono::DateTime<chrono::Utc> = "2031-05-06T07:08:09Z".parse().unwrap();
    let t = TestApp::sqlite()
        .with_clock(Arc::new(Fixed(then)))
        .start()
        .await;
    let (app, root) = t.serve_as_owner().await;
    let at = |v: &Value| {
        v.as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };

    let (status, project) = support::call(
        &app,
        Method::POST,
        "/api/v1/projects",
        Some(&root),
        Some(json!({"name": "Then"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    assert_eq!(at(&project["created_at"]), then, "the domain's stamp");
    let (_, trail) = support::call(
        &app,
        Method::GET,
        "/api/v1/audit?limit=5",
        Some(&root),
        None,
    )
    .await;
    let rows = trail["items"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| at(&r["at"]) == then), "{trail}");
    let (_, sessions) = support::call(
        &app,
        Method::GET,
        "/api/v1/auth/sessions",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(at(&sessions["items"][0]["created_at"]), then, "{sessions}");
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/health/detailed")
            .to_request(),
    )
    .await;
    let health: Value = test::read_body_json(res).await;
    assert_eq!(at(&health["timestamp"]), then, "the handler's time");
}
