//! `http`: calls a URL. `with`: `url` (required), `method` (default `GET`), `headers` (an
//! object), `body` (a string is sent as is, anything else as JSON), `success` (the status
//! codes that count as success; default every 2xx), `timeout` (default `10s`). Every attempt
//! of the step sends the same `Idempotency-Key` (the execution and step ids), so a receiver
//! can tell a retry from a new request. Targets in private networks are refused unless the
//! operator allowed them (`WORKFLOW_HTTP_ALLOW`). The output is `{status, body}`, the body
//! parsed when it is JSON.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};
use usvc_core::ports::OutboundRequest;

use super::{StepCall, StepEnv, StepKind, StepOutcome};
use crate::duration::parse_duration;

/// How long a call may take when the step says nothing.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a failed answer's body the error quotes.
const QUOTE: usize = 200;

/// The `http` kind.
pub(super) struct Http;

fn is_template(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.contains("{{") || s.contains("{%"))
}

/// The success codes `with.success` names (literal numbers only), or every 2xx.
fn success_codes(with: &serde_json::Map<String, Value>) -> Result<Vec<u16>, String> {
    match with.get("success") {
        None => Ok((200..300).collect()),
        Some(Value::Array(codes)) if !codes.is_empty() => codes
            .iter()
            .map(|c| {
                c.as_u64()
                    .and_then(|c| u16::try_from(c).ok())
                    .filter(|c| (100..600).contains(c))
                    .ok_or_else(|| "`with.success` must list status codes (100-599)".to_owned())
            })
            .collect(),
        Some(_) => Err("`with.success` must list status codes (100-599)".into()),
    }
}

#[async_trait]
impl StepKind for Http {
    fn name(&self) -> &'static str {
        "http"
    }

    fn check(&self, with: &BTreeMap<String, Value>) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        match with.get("url") {
            Some(Value::String(url))
                if is_template(&json!(url))
                    || url.starts_with("http://")
                    || url.starts_with("https://") => {}
            _ => errors.push((
                "url".into(),
                "is required: an http:// or https:// URL".into(),
            )),
        }
        if let Some(method) = with.get("method").filter(|m| !is_template(m)) {
            let known = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
            if !method
                .as_str()
                .is_some_and(|m| known.contains(&m.to_ascii_uppercase().as_str()))
            {
                errors.push((
                    "method".into(),
                    format!("must be one of {}", known.join(", ")),
                ));
            }
        }
        if let Some(headers) = with.get("headers") {
            if !headers
                .as_object()
                .is_some_and(|h| h.values().all(Value::is_string))
            {
                errors.push(("headers".into(), "must be an object of strings".into()));
            }
        }
        let literal: serde_json::Map<String, Value> =
            with.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if let Err(e) = success_codes(&literal) {
            errors.push((
                "success".into(),
                e.trim_start_matches("`with.success` ").into(),
            ));
        }
        if let Some(timeout) = with.get("timeout").filter(|t| !is_template(t)) {
            if timeout.as_str().and_then(parse_duration).is_none() {
                errors.push(("timeout".into(), "must be like `10s` or `2m`".into()));
            }
        }
        errors
    }

    async fn run(&self, call: StepCall, env: &StepEnv) -> StepOutcome {
        let url = match call.text("url") {
            Ok(url) => url.to_owned(),
            Err(e) => return StepOutcome::Failed(e),
        };
        let method = call
            .with
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("GET")
            .to_ascii_uppercase();
        let success = match success_codes(&call.with) {
            Ok(codes) => codes,
            Err(e) => return StepOutcome::Failed(e),
        };
        let timeout = call
            .with
            .get("timeout")
            .and_then(Value::as_str)
            .and_then(parse_duration)
            .unwrap_or(DEFAULT_TIMEOUT);
        let mut headers: Vec<(String, String)> = call
            .with
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let has = |headers: &[(String, String)], name: &str| {
            headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
        };
        if !has(&headers, "idempotency-key") {
            headers.push(("Idempotency-Key".into(), call.idempotency_key.clone()));
        }
        let body = match call.with.get("body") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.clone().into_bytes()),
            Some(other) => {
                if !has(&headers, "content-type") {
                    headers.push(("Content-Type".into(), "application/json".into()));
                }
                Some(other.to_string().into_bytes())
            }
        };
        let request = OutboundRequest {
            method,
            url,
            headers,
            body,
            timeout,
        };
        let response = match env.http.send(request).await {
            Ok(response) => response,
            Err(why) => return StepOutcome::Failed(why),
        };
        let text = String::from_utf8_lossy(&response.body).into_owned();
        if !success.contains(&response.status) {
            let quote: String = text.chars().take(QUOTE).collect();
            return StepOutcome::Failed(format!("HTTP {}: {quote}", response.status));
        }
        let is_json = response
            .content_type
            .as_deref()
            .is_some_and(|c| c.contains("json"));
        let body = if is_json {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        } else {
            Value::String(text)
        };
        StepOutcome::Succeeded(json!({ "status": response.status, "body": body }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use usvc_core::ports::{MockHttpClient, OutboundResponse};

    use super::*;
    use crate::kinds::tests::{call, no_env};

    fn env(client: MockHttpClient) -> StepEnv {
        StepEnv {
            http: Arc::new(client),
            ..no_env()
        }
    }

    #[tokio::test]
    async fn sends_the_rendered_request_with_a_stable_idempotency_key() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let mut client = MockHttpClient::new();
        client.expect_send().returning(move |req| {
            record.lock().unwrap().push(req);
            Ok(OutboundResponse {
                status: 201,
                content_type: Some("application/json".into()),
                body: br#"{"id": 7}"#.to_vec(),
            })
        });
        let out = Http
            .run(
                call(
                    json!({"url": "https://hooks.example/x", "method": "post",
                           "body": {"n": 1}, "headers": {"X-Trace": "t"}}),
                    json!({}),
                ),
                &env(client),
            )
            .await;
        assert_eq!(
            out,
            StepOutcome::Succeeded(json!({"status": 201, "body": {"id": 7}}))
        );
        let sent = seen.lock().unwrap()[0].clone();
        assert_eq!(sent.method, "POST");
        assert_eq!(sent.body.as_deref(), Some(br#"{"n":1}"#.as_slice()));
        assert!(sent
            .headers
            .contains(&("Idempotency-Key".into(), "e:s".into())));
        assert!(sent
            .headers
            .contains(&("Content-Type".into(), "application/json".into())));
    }

    #[tokio::test]
    async fn other_status_codes_and_refusals_fail_the_attempt() {
        let mut client = MockHttpClient::new();
        client.expect_send().returning(|_| {
            Ok(OutboundResponse {
                status: 503,
                content_type: None,
                body: b"busy".to_vec(),
            })
        });
        let out = Http
            .run(
                call(json!({"url": "https://a.example"}), json!({})),
                &env(client),
            )
            .await;
        assert_eq!(out, StepOutcome::Failed("HTTP 503: busy".into()));
        let mut client = MockHttpClient::new();
        client
            .expect_send()
            .returning(|_| Err("127.0.0.1 is a loopback address, refused".into()));
        let out = Http
            .run(
                call(json!({"url": "http://127.0.0.1/"}), json!({})),
                &env(client),
            )
            .await;
        assert!(matches!(out, StepOutcome::Failed(e) if e.contains("refused")));
        let errors = Http.check(&BTreeMap::from([
            ("url".to_owned(), json!("ftp://x")),
            ("method".to_owned(), json!("FETCH")),
            ("success".to_owned(), json!([700])),
        ]));
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["url", "method", "success"]);
    }
}
