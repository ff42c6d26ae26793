//! Project history over HTTP: every change is a version with its snapshot; diffs between
//! any two; a restore is a new version, never a rewrite.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use support::TestApp;

use actix_web::http::{Method, StatusCode};
use actix_web::test;
use serde_json::json;
use support::call;

async fn history_keeps_every_version_and_restore_adds_one(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (mia, _) = support::join(&app, &root, "mia@example.com", &["member"]).await;
    let (vic, _) = support::join(&app, &root, "vic@example.com", &["viewer"]).await;
    let (status, project) = call(
        &app,
        Method::POST,
        "/api/v1/projects",
        Some(&mia),
        Some(json!({"name": "Mercury", "tags": ["a"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let path = format!("/api/v1/projects/{}", project["id"].as_str().unwrap());
    for change in [
        json!({"description": "one"}),
        json!({"name": "Mercury 7", "tags": ["a", "b"]}),
        json!({"settings": {"k": 1}}),
    ] {
        let (status, _) = call(&app, Method::PATCH, &path, Some(&mia), Some(change)).await;
        assert_eq!(status, StatusCode::OK);
    }

    // The list: newest first, paged, each with what it changed and who.
    let (status, page) = call(
        &app,
        Method::GET,
        &format!("{path}/versions?limit=3"),
        Some(&vic),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let versions: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [4, 3, 2]);
    assert_eq!(page["items"][1]["changed"], json!(["name", "tags"]));
    assert_eq!(page["items"][1]["snapshot"]["name"], "Mercury 7");
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = call(
        &app,
        Method::GET,
        &format!("{path}/versions?limit=3&cursor={cursor}"),
        Some(&vic),
        None,
    )
    .await;
    assert_eq!(rest["items"][0]["version"], 1);
    assert_eq!(rest["items"][0]["changed"], json!(["created"]));
    assert!(rest["next_cursor"].is_null());

    // One version; a diff between two.
    let (status, first) = call(
        &app,
        Method::GET,
        &format!("{path}/versions/1"),
        Some(&vic),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["snapshot"]["name"], "Mercury");
    let (status, diff) = call(
        &app,
        Method::GET,
        &format!("{path}/versions/4/diff?against=1"),
        Some(&vic),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{diff}");
    let fields: Vec<&str> = diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["description", "name", "settings", "tags"]);
    assert_eq!(
        diff["changes"][1],
        json!({"field": "name", "from": "Mercury", "to": "Mercury 7"})
    );
    for (uri, status) in [
        (format!("{path}/versions/9"), StatusCode::NOT_FOUND),
        (format!("{path}/versions/0"), StatusCode::BAD_REQUEST),
        (format!("{path}/versions/x"), StatusCode::BAD_REQUEST),
        (
            format!("{path}/versions/4/diff?against=9"),
            StatusCode::NOT_FOUND,
        ),
        (format!("{path}/versions/4/diff"), StatusCode::BAD_REQUEST),
        (format!("{path}/versions?limit=0"), StatusCode::BAD_REQUEST),
    ] {
        let (got, problem) = call(&app, Method::GET, &uri, Some(&vic), None).await;
        assert_eq!(got, status, "{uri}: {problem}");
    }

    // Restore: a viewer may not; a stale If-Match is 412; then version 5 has version 1's fields.
    let restore = format!("{path}/versions/1/restore");
    let (status, _) = call(&app, Method::POST, &restore, Some(&vic), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let outdated = test::TestRequest::post()
        .uri(&restore)
        .insert_header(("Authorization", format!("Bearer {mia}")))
        .insert_header(("If-Match", "\"3\""))
        .to_request();
    assert_eq!(
        test::call_service(&app, outdated).await.status(),
        StatusCode::PRECONDITION_FAILED
    );
    let (status, restored) = call(&app, Method::POST, &restore, Some(&mia), None).await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert_eq!(restored["version"], 5);
    assert_eq!(restored["name"], "Mercury");
    assert_eq!(restored["tags"], json!(["a"]));
    assert_eq!(restored["settings"], json!({}));
    let (_, latest) = call(
        &app,
        Method::GET,
        &format!("{path}/versions?limit=1"),
        Some(&mia),
        None,
    )
    .await;
    assert_eq!(
        latest["items"][0]["changed"],
        json!(["name", "description", "tags", "settings"])
    );
    let (_, still) = call(
        &app,
        Method::GET,
        &format!("{path}/versions/4"),
        Some(&mia),
        None,
    )
    .await;
    assert_eq!(
        still["snapshot"]["name"], "Mercury 7",
        "history is never rewritten"
    );

    // A restore whose old name is taken by another project now is a conflict.
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/projects",
        Some(&mia),
        Some(json!({"name": "Mercury 7"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, problem) = call(
        &app,
        Method::POST,
        &format!("{path}/versions/4/restore"),
        Some(&mia),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");

    // A private project's history is as invisible as the project to non-members.
    let (status, _) = call(
        &app,
        Method::PATCH,
        &path,
        Some(&mia),
        Some(json!({"visibility": "private"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for uri in [
        format!("{path}/versions"),
        format!("{path}/versions/1"),
        format!("{path}/versions/2/diff?against=1"),
    ] {
        let (status, _) = call(&app, Method::GET, &uri, Some(&vic), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        let (status, _) = call(&app, Method::GET, &uri, Some(&mia), None).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
    }
    let (status, _) = call(&app, Method::POST, &restore, Some(&vic), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Restores are audited as such.
    let (_, trail) = call(
        &app,
        Method::GET,
        &format!(
            "/api/v1/audit?action=project.restored&resource=project:{}",
            project["id"].as_str().unwrap()
        ),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(trail["items"].as_array().unwrap().len(), 1, "{trail}");
    assert_eq!(trail["items"][0]["details"]["restored_from"], 1);
}
on_both_stores!(history_keeps_every_version_and_restore_adds_one);
