//! The per-client-IP limit on the unauthenticated auth endpoints: counted in the database, so
//! it holds across replicas and restarts.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod support;

use actix_web::http::StatusCode;
use actix_web::test;
use serde_json::json;
use support::TestApp;

#[actix_web::test]
async fn one_address_is_held_to_its_limit_on_every_replica_and_after_a_restart() {
    const LIMIT: &[(&str, &str)] = &[("AUTH_RATE_LIMIT", "4")];
    let first = TestApp::sqlite().with_settings(LIMIT).start().await;
    // Replicas share the database and the master key, as in production.
    let second = first.replica().with_settings(LIMIT).start().await;
    let (a, b) = (first.service().await, second.service().await);
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
    let third = first.replica().with_settings(LIMIT).start().await;
    let c = third.service().await;
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

#[actix_web::test]
async fn behind_a_trusted_balancer_each_client_has_its_own_limit_and_nobody_else_can_pick_one() {
    let t = TestApp::sqlite()
        .with_settings(&[("AUTH_RATE_LIMIT", "2"), ("TRUSTED_PROXIES", "10.0.0.0/8")])
        .start()
        .await;
    let app = t.service().await;
    // Each attempt names another account, so no account lockout mixes in.
    let attempts = std::cell::Cell::new(0);
    let login = |peer: &str, forwarded_for: &str| {
        attempts.set(attempts.get() + 1);
        let bad = json!({"email": format!("x{}@example.com", attempts.get()), "password": "wrong password"});
        test::TestRequest::post()
            .uri("/api/v1/auth/login")
            .peer_addr(peer.parse().unwrap())
            .insert_header(("X-Forwarded-For", forwarded_for.to_owned()))
            .set_json(bad)
            .to_request()
    };
    let balancer = "10.0.0.5:40000";

    // Two clients behind the balancer: each spends its own two attempts.
    for client in ["203.0.113.1", "203.0.113.2"] {
        for _ in 0..2 {
            let res = test::call_service(&app, login(balancer, client)).await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{client}");
        }
    }
    let res = test::call_service(&app, login(balancer, "203.0.113.1")).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // A client putting another address in front of the balancer's entry is still itself.
    let res = test::call_service(&app, login(balancer, "198.51.100.9, 203.0.113.2")).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);

    // Straight to the service, a forwarding header is not believed: the socket's address
    // counts, so a limited client cannot claim a fresh one.
    let direct = "192.0.2.50:5000";
    for _ in 0..2 {
        let res = test::call_service(&app, login(direct, "198.51.100.1")).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = test::call_service(&app, login(direct, "198.51.100.2")).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}
