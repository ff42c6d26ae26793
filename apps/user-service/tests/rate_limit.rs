//! The per-client-IP limit on the unauthenticated auth endpoints: counted in the database, so
//! it holds across replicas and restarts.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod support;

use actix_web::http::StatusCode;
use actix_web::test;
use serde_json::json;
use user_service::http::client_limit::AuthRateLimit;
use user_service::http::{build_app, routes};

const MAX_BODY: usize = 1024 * 1024;

#[actix_web::test]
async fn one_address_is_held_to_its_limit_on_every_replica_and_after_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let db = support::database(&dir).await;
    // Replicas share the database and the master key, as in production.
    let secrets = support::secret_box();
    let replica = |db: user_service::wiring::Database| {
        let secrets = secrets.clone();
        async move {
            let mut state = support::state_sealed_by(db, secrets).await;
            state.auth_limit = AuthRateLimit::new(state.db.rate_limits.clone(), 4);
            state
        }
    };
    let a = test::init_service(build_app(replica(db.clone()).await, MAX_BODY, routes)).await;
    let b = test::init_service(build_app(replica(db.clone()).await, MAX_BODY, routes)).await;
    let from = |ip: &str| ip.parse::<std::net::SocketAddr>().unwrap();
    let post = |uri: &str, body: serde_json::Value, peer: &str| {
        test::TestRequest::post()
            .uri(uri)
            .peer_addr(from(peer))
            .set_json(body)
            .to_request()
    };
    let good = json!({"email": support::ADMIN_EMAIL, "password": support::ADMIN_PASSWORD});
    let bad = json!({"email": "x@example.com", "password": "wrong password"});
    let peer = "203.0.113.9:5000";

    // One good login on replica A, then three failures split across A and B: four in all.
    let res = test::call_service(&a, post("/api/v1/auth/login", good.clone(), peer)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let pair: serde_json::Value = test::read_body_json(res).await;
    for app in [&a, &b, &a] {
        let res = test::call_service(app, post("/api/v1/auth/login", bad.clone(), peer)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // The fifth request, on replica B and another endpoint, is over the limit.
    let res = test::call_service(
        &b,
        post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": pair["refresh_token"]}),
            peer,
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry), "{retry}");

    // A restart (a new process on the same database) remembers.
    let c = test::init_service(build_app(replica(db.clone()).await, MAX_BODY, routes)).await;
    let res = test::call_service(&c, post("/api/v1/auth/login", good.clone(), peer)).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);

    // Another address is not affected, nor are authenticated calls from the limited one.
    let res = test::call_service(&c, post("/api/v1/auth/login", good, "198.51.100.7:4000")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let req = test::TestRequest::get()
        .uri("/api/v1/users/profile")
        .peer_addr(from(peer))
        .insert_header((
            "Authorization",
            format!("Bearer {}", pair["access_token"].as_str().unwrap()),
        ))
        .to_request();
    assert_eq!(test::call_service(&a, req).await.status(), StatusCode::OK);
}
