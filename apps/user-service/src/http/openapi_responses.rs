//! The answers every operation can give for reasons of its shape, added to `/openapi.json`
//! wherever an operation's own annotation does not list them, so the document names every
//! status the service really sends (clients are generated from it; schemathesis holds the
//! service to it):
//!
//! | when the operation… | it may answer |
//! |---|---|
//! | requires a bearer token | `401` (none, expired, revoked) |
//! | takes a body | `400` (malformed, or not the documented shape), `413` (over `MAX_BODY_BYTES`), `415` (not `application/json`) |
//! | takes query parameters | `400` (a value out of its documented range or of the wrong type) |
//! | takes path parameters | `404` (an id that is not one, or of nothing the caller may see) |
//! | is under `/api/` (reads or writes the store) | `503` with `Retry-After` (the database is restarting, unreachable or saturated; nothing was written) |
//!
//! Each is a problem document (`application/problem+json`).

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{OpenApi, Ref, RefOr};

/// The `Modify` that completes every operation's responses.
pub struct StandardResponses;

impl utoipa::Modify for StandardResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            let uses_store = path.starts_with("/api/");
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                complete(operation, uses_store);
            }
        }
    }
}

fn complete(operation: &mut Operation, uses_store: bool) {
    let needs_token = operation.security.as_ref().is_some_and(|all| {
        all.iter().all(|requirement| {
            serde_json::to_value(requirement)
                .ok()
                .and_then(|v| v.as_object().map(|o| o.contains_key("bearer")))
                .unwrap_or(false)
        })
    });
    let params = operation.parameters.as_deref().unwrap_or_default();
    let has_query = params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query));
    let has_path = params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path));
    let has_body = operation.request_body.is_some();
    let mut add = |status: &str, why: &str| {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| problem(why));
    };
    if needs_token {
        add(
            "401",
            "No bearer token, or one that is expired, revoked or not for this service",
        );
    }
    if has_body {
        add("400", "The body is malformed or does not have the documented shape; `errors` names each field");
        add("413", "The body is larger than `MAX_BODY_BYTES`");
        add("415", "The body is not sent as `application/json`");
    }
    if has_query {
        add(
            "400",
            "A query parameter is out of its documented range or of the wrong type",
        );
    }
    if has_path {
        add("404", "No such thing (or none the caller may see)");
    }
    if uses_store {
        add(
            "503",
            "The database is unavailable (restarting, unreachable or saturated); nothing was written. Retry after the `Retry-After` seconds",
        );
    }
}

fn problem(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                super::problem::PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}
