//! The audit trail over HTTP: what is recorded, the filters, verification, export, and an
//! edit made directly in the database being found.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use actix_web::http::{Method, StatusCode};
use actix_web::test;
use serde_json::{json, Value};
use support::{call, login, TestApp, TestDatabase};

const PASSWORD: &str = "a long and unusual passphrase";

/// The rows of `GET /api/v1/audit?{query}` as the owner sees them.
async fn rows<S, B>(app: &S, token: &str, query: &str) -> Vec<Value>
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_http::body::MessageBody,
{
    let (status, page) = call(
        app,
        Method::GET,
        &format!("/api/v1/audit?{query}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{query}: {page}");
    page["items"].as_array().unwrap().clone()
}

async fn the_trail_records_verifies_and_exposes_tampering(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;

    // A user is created and promoted; a login fails; the member reads someone else and tries
    // to delete them (refused, with a request id of their own).
    let (status, member) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&root),
        Some(json!({"email": "mia@example.com", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    let member_id = member["id"].as_str().unwrap().to_owned();
    let (status, other) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&root),
        Some(json!({"email": "oli@example.com", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let other_id = other["id"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &app,
        Method::PUT,
        &format!("/api/v1/users/{other_id}/roles"),
        Some(&root),
        Some(json!({"roles": ["viewer"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": "mia@example.com", "password": "not the password at all"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (mia, _) = login(&app, "default", "mia@example.com", PASSWORD).await;
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/users/{other_id}"),
        Some(&mia),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let refused = test::TestRequest::delete()
        .uri(&format!("/api/v1/users/{other_id}"))
        .insert_header(("Authorization", format!("Bearer {mia}")))
        .insert_header(("x-request-id", "audit-test-1"))
        .insert_header(("user-agent", "audit-test/1.0"))
        .to_request();
    let refused = test::call_service(&app, refused).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // Each of those is on the trail, newest first, attributed and with its request.
    let all = rows(&app, &root, "limit=200").await;
    let actions: Vec<&str> = all.iter().map(|r| r["action"].as_str().unwrap()).collect();
    for expected in [
        "tenant.created",
        "user.created",
        "auth.login",
        "user.updated",
        "auth.login_failed",
        "user.read",
        "authz.denied",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    let seqs: Vec<i64> = all.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] == w[1] + 1),
        "newest first, no gaps: {seqs:?}"
    );

    let denied = rows(&app, &root, "action=authz.denied").await;
    assert_eq!(denied.len(), 1, "{denied:?}");
    let denied = &denied[0];
    assert_eq!(denied["outcome"], "denied");
    assert_eq!(denied["actor"]["type"], "user");
    assert_eq!(denied["actor"]["id"], member_id.as_str());
    assert_eq!(denied["resource"], json!({"type": "user", "id": other_id}));
    assert_eq!(denied["request_id"], "audit-test-1");
    assert_eq!(denied["user_agent"], "audit-test/1.0");
    assert_eq!(denied["details"]["action"], "users:delete");

    let promoted = rows(
        &app,
        &root,
        &format!("action=user.updated&resource=user:{other_id}"),
    )
    .await;
    assert_eq!(promoted.len(), 1, "{promoted:?}");
    assert_eq!(
        promoted[0]["details"]["roles"],
        json!({"from": ["member"], "to": ["viewer"]})
    );
    let failed = rows(&app, &root, "outcome=failure").await;
    assert!(failed.iter().all(|r| r["outcome"] == "failure"));
    assert!(failed.iter().any(|r| r["action"] == "auth.login_failed"
        && r["actor"]["type"] == "anonymous"
        && r["details"]["email"] == "mia@example.com"));
    let by_member = rows(&app, &root, &format!("actor={member_id}")).await;
    assert!(!by_member.is_empty());
    assert!(by_member
        .iter()
        .all(|r| r["actor"]["id"] == member_id.as_str()));
    let read = rows(&app, &root, &format!("action=user.read&actor={member_id}")).await;
    assert_eq!(read.len(), 1, "{read:?}");
    assert_eq!(read[0]["resource"]["id"], other_id.as_str());
    let future = rows(&app, &root, "from=2999-01-01T00:00:00Z").await;
    assert!(future.is_empty());

    // Paging walks the same rows.
    let (_, first) = call(
        &app,
        Method::GET,
        "/api/v1/audit?limit=2",
        Some(&root),
        None,
    )
    .await;
    let cursor = first["next_cursor"]
        .as_str()
        .expect("more pages")
        .to_owned();
    let (_, second) = call(
        &app,
        Method::GET,
        &format!("/api/v1/audit?limit=2&cursor={cursor}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(second["items"][0]["seq"], all[2]["seq"]);

    // Bad filters are 400s naming the field; a member may not read the trail at all.
    for (query, field) in [
        ("outcome=maybe", "outcome"),
        ("actor=someone", "actor"),
        (
            "from=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
            "until",
        ),
    ] {
        let (status, problem) = call(
            &app,
            Method::GET,
            &format!("/api/v1/audit?{query}"),
            Some(&root),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    for path in [
        "/api/v1/audit",
        "/api/v1/audit/verify",
        "/api/v1/audit/export",
    ] {
        let (status, _) = call(&app, Method::GET, path, Some(&mia), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }

    // The chain verifies, and the export is that chain, oldest first.
    let (status, report) = call(&app, Method::GET, "/api/v1/audit/verify", Some(&root), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["valid"], true, "{report}");
    let checked = report["checked"].as_u64().unwrap();
    assert!(checked >= u64::try_from(all.len()).unwrap());
    // Entries are queued by their changes and chained later; verification reports what was
    // still waiting when it ended (nothing here: no change ran meanwhile).
    assert_eq!(report["queued"], 0, "{report}");
    let export = test::TestRequest::get()
        .uri("/api/v1/audit/export")
        .insert_header(("Authorization", format!("Bearer {root}")))
        .to_request();
    let export = test::call_service(&app, export).await;
    assert_eq!(export.status(), StatusCode::OK);
    assert_eq!(
        export.headers().get("content-type").unwrap(),
        "application/x-ndjson"
    );
    assert_eq!(export.headers().get("x-audit-queued").unwrap(), "0");
    let body = test::read_body(export).await;
    let lines: Vec<usvc_core::AuditRecord> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("one audit record per line"))
        .collect();
    assert!(u64::try_from(lines.len()).unwrap() >= checked);
    // The copy verifies on its own, offline.
    let mut offline = usvc_user::audit::ChainVerifier::new(lines[0].entry.tenant);
    for line in &lines {
        offline.check(line).expect("the exported chain holds");
    }
    let last = lines.last().unwrap();
    let head = usvc_core::ChainHead {
        seq: last.seq,
        hash: last.hash.clone(),
    };
    assert!(offline.finish(Some(&head)).valid);
    let mut forged = lines[2].clone();
    forged.entry.action = "nothing.happened".into();
    let mut offline = usvc_user::audit::ChainVerifier::new(lines[0].entry.tenant);
    offline.check(&lines[0]).expect("row 1");
    offline.check(&lines[1]).expect("row 2");
    assert!(offline.check(&forged).is_err(), "an edited copy is caught");

    // The application cannot change history: the database refuses updates and deletes.
    let denied_id = denied["id"].as_str().unwrap();
    let edit = format!("UPDATE audit_log SET outcome = 'success' WHERE id = '{denied_id}'");
    assert!(
        t.database.execute(&edit).await.is_err(),
        "the trigger refuses"
    );
    let delete = format!("DELETE FROM audit_log WHERE id = '{denied_id}'");
    assert!(
        t.database.execute(&delete).await.is_err(),
        "the trigger refuses"
    );

    // Someone able to switch the guard off edits a row; verification names it.
    match &t.database {
        TestDatabase::Sqlite(_) => t.database.execute("DROP TRIGGER audit_log_no_update").await,
        TestDatabase::Postgres(_) => {
            t.database
                .execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
                .await
        }
        TestDatabase::Shared => unreachable!("a fresh database of its own"),
    }
    .expect("switch the trigger off");
    assert_eq!(t.database.execute(&edit).await.expect("edit"), 1);
    let (_, report) = call(&app, Method::GET, "/api/v1/audit/verify", Some(&root), None).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["first_invalid_id"], denied_id, "{report}");
    assert!(
        report["problem"].as_str().unwrap().contains("changed"),
        "{report}"
    );
}

on_both_stores!(the_trail_records_verifies_and_exposes_tampering);
