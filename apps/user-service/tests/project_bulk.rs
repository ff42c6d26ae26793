//! Bulk project operations over HTTP: one answer per project, with allowed, forbidden,
//! invisible and missing ids mixed in one request.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use support::TestApp;

use actix_web::http::{Method, StatusCode};
use serde_json::{json, Value};
use support::call;

/// The status of each result, by id.
fn statuses(answer: &Value) -> Vec<(String, String, Option<u64>)> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
                r["error"]["status"].as_u64(),
            )
        })
        .collect()
}

async fn bulk_requests_answer_per_project(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let mut user_ids = std::collections::HashMap::new();
    let mut tokens = std::collections::HashMap::new();
    for (name, role) in [("mia", "member"), ("ned", "member"), ("vic", "viewer")] {
        let (token, id) = support::join(&app, &root, &format!("{name}@example.com"), &[role]).await;
        user_ids.insert(name, id);
        tokens.insert(name, token);
    }
    let (mia, ned, vic) = (
        tokens["mia"].clone(),
        tokens["ned"].clone(),
        tokens["vic"].clone(),
    );
    let mut ids = std::collections::HashMap::new();
    for (token, name, visibility) in [
        (&mia, "A", "tenant"),
        (&mia, "B", "tenant"),
        (&mia, "C", "tenant"),
        (&ned, "D", "tenant"),
        (&ned, "E", "private"),
    ] {
        let (status, project) = call(
            &app,
            Method::POST,
            "/api/v1/projects",
            Some(token),
            Some(json!({"name": name, "visibility": visibility})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        ids.insert(name, project["id"].as_str().unwrap().to_owned());
    }
    let bulk = |token: &str, body: Value| {
        let token = token.to_owned();
        let app = &app;
        async move {
            call(
                app,
                Method::POST,
                "/api/v1/projects/bulk",
                Some(&token),
                Some(body),
            )
            .await
        }
    };

    // Allowed, forbidden (not hers), invisible (private), missing, malformed and repeated.
    let made_up = uuid::Uuid::now_v7().to_string();
    let (status, answer) = bulk(
        &mia,
        json!({"action": "archive", "ids": [ids["A"], ids["B"], ids["D"], ids["E"], made_up, "garbage", ids["A"]]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        statuses(&answer),
        [
            (ids["A"].clone(), "ok".into(), None),
            (ids["B"].clone(), "ok".into(), None),
            (ids["D"].clone(), "error".into(), Some(403)),
            (ids["E"].clone(), "error".into(), Some(404)),
            (made_up.clone(), "error".into(), Some(404)),
            ("garbage".into(), "error".into(), Some(404)),
        ]
    );
    assert_eq!(
        (answer["ok"].as_u64(), answer["failed"].as_u64()),
        (Some(2), Some(4))
    );
    let (_, a) = call(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{}", ids["A"]),
        Some(&mia),
        None,
    )
    .await;
    assert_eq!(
        (a["status"].as_str(), a["version"].as_i64()),
        (Some("archived"), Some(2))
    );
    let (_, d) = call(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{}", ids["D"]),
        Some(&ned),
        None,
    )
    .await;
    assert_eq!(d["status"], "active", "a refused project is untouched");
    let (status, again) = bulk(&mia, json!({"action": "archive", "ids": [ids["A"]]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(statuses(&again)[0].1, "unchanged");

    // Bad requests as a whole: 4xx, nothing written.
    let too_many: Vec<String> = (0..1001)
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    for (body, expected) in [
        (
            json!({"action": "explode", "ids": [ids["C"]]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"action": "archive", "ids": []}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"action": "archive", "ids": too_many}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"action": "add_member", "ids": [ids["C"]], "params": {"user_id": user_ids["ned"]}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"action": "add_member", "ids": [ids["C"]], "params": {"user_id": user_ids["ned"], "role": "boss"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"action": "archive", "ids": [ids["C"]], "params": {"user_id": user_ids["ned"]}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"action": "transfer_owner", "ids": [ids["C"]], "params": {"user_id": made_up}}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"action": "archive", "ids": [ids["C"]], "extra": 1}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, problem) = bulk(&mia, body.clone()).await;
        assert_eq!(status, expected, "{body}: {problem}");
    }
    let (_, c) = call(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{}", ids["C"]),
        Some(&mia),
        None,
    )
    .await;
    assert_eq!(
        (c["status"].as_str(), c["version"].as_i64()),
        (Some("active"), Some(1))
    );

    // A thousand unknown ids: one answer each, and still a 200.
    let thousand: Vec<String> = (0..1000)
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    let (status, answer) = bulk(&mia, json!({"action": "delete", "ids": thousand})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["failed"], 1000);

    // Members: ned joins three projects, then edits one of them.
    let (_, answer) = bulk(
        &mia,
        json!({"action": "add_member", "ids": [ids["A"], ids["B"], ids["C"], ids["D"]],
               "params": {"user_id": user_ids["ned"], "role": "editor"}}),
    )
    .await;
    let got: Vec<String> = statuses(&answer).into_iter().map(|s| s.1).collect();
    assert_eq!(got, ["ok", "ok", "ok", "error"], "{answer}");
    let (status, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/projects/{}", ids["C"]),
        Some(&ned),
        Some(json!({"description": "ned was here"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the new membership applies at once");
    let (_, answer) = bulk(
        &ned,
        json!({"action": "add_member", "ids": [ids["C"]], "params": {"user_id": user_ids["vic"], "role": "viewer"}}),
    )
    .await;
    assert_eq!(
        statuses(&answer)[0].2,
        Some(403),
        "editors do not manage members"
    );

    // Transfer C to ned; then ned, owner of record, cannot be removed from it.
    let (_, answer) = bulk(
        &mia,
        json!({"action": "transfer_owner", "ids": [ids["C"]], "params": {"user_id": user_ids["ned"]}}),
    )
    .await;
    assert_eq!(statuses(&answer)[0].1, "ok", "{answer}");
    let (_, c) = call(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{}", ids["C"]),
        Some(&mia),
        None,
    )
    .await;
    assert_eq!(c["owner_id"], user_ids["ned"].as_str());
    let (_, answer) = bulk(
        &mia,
        json!({"action": "remove_member", "ids": [ids["A"], ids["C"]], "params": {"user_id": user_ids["ned"]}}),
    )
    .await;
    let got: Vec<Option<u64>> = statuses(&answer).into_iter().map(|s| s.2).collect();
    assert_eq!(got, [None, Some(409)], "{answer}");

    // A viewer deletes nothing; the owner deletes A and B.
    let (_, answer) = bulk(
        &vic,
        json!({"action": "delete", "ids": [ids["A"], ids["B"]]}),
    )
    .await;
    assert_eq!(answer["failed"], 2);
    let (_, answer) = bulk(
        &mia,
        json!({"action": "delete", "ids": [ids["A"], ids["B"]]}),
    )
    .await;
    assert_eq!(answer["ok"], 2, "{answer}");
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{}", ids["A"]),
        Some(&mia),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Every change and every refusal is on the trail.
    // The private one Mia cannot see (answered as missing) too.
    for hidden in ["D", "E"] {
        let actions =
            support::audit_actions(&app, &root, &format!("resource=project:{}", ids[hidden])).await;
        assert!(
            actions.iter().any(|a| a == "authz.denied"),
            "{hidden}: {actions:?}"
        );
    }
    let actions =
        support::audit_actions(&app, &root, &format!("resource=project:{}", ids["B"])).await;
    for expected in [
        "project.archived",
        "project.member_added",
        "project.deleted",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
}
on_both_stores!(bulk_requests_answer_per_project);
