//! Traces end to end: the service exports its spans over OTLP/HTTP (protobuf) to a receiver
//! this test runs, and one login arrives as one trace: the HTTP request's span (carrying the
//! request id) → the domain operation's (`auth.login`) → the store's (`store`, `db.system`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message as _;

use crate::service::Service;

/// One received span, as much of it as the test reads.
#[derive(Debug, Clone)]
struct Received {
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent_span_id: Vec<u8>,
    attributes: HashMap<String, String>,
}

/// An OTLP/HTTP trace receiver on a free port: answers every `POST /v1/traces` with 200 and
/// sends the spans it decoded down the channel.
fn receiver() -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut stream = stream;
                // Keep-alive: one request after the other until the exporter hangs up.
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path_ok = line.starts_with("POST /v1/traces ");
                    let mut length = 0usize;
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 {
                            return;
                        }
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let status = if path_ok { "200 OK" } else { "404 Not Found" };
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status}\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"
                    );
                    let Ok(request) = ExportTraceServiceRequest::decode(body.as_slice()) else {
                        continue;
                    };
                    for span in request
                        .resource_spans
                        .into_iter()
                        .flat_map(|r| r.scope_spans)
                        .flat_map(|s| s.spans)
                    {
                        let attributes = span
                            .attributes
                            .iter()
                            .filter_map(|kv| {
                                let value = match kv.value.as_ref()?.value.as_ref()? {
                                    AnyValue::StringValue(s) => s.clone(),
                                    AnyValue::IntValue(i) => i.to_string(),
                                    AnyValue::BoolValue(b) => b.to_string(),
                                    other => format!("{other:?}"),
                                };
                                Some((kv.key.clone(), value))
                            })
                            .collect();
                        let _ = tx.send(Received {
                            name: span.name,
                            trace_id: span.trace_id,
                            span_id: span.span_id,
                            parent_span_id: span.parent_span_id,
                            attributes,
                        });
                    }
                }
            });
        }
    });
    (addr, rx)
}

#[test]
fn one_login_arrives_as_one_trace_from_the_http_span_through_the_domain_to_the_store() {
    let (addr, spans) = receiver();
    let dir = tempfile::tempdir().expect("temp dir");
    let endpoint = format!("http://{addr}");
    let service = Service::start(
        dir.path(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("BOOTSTRAP_ADMIN_EMAIL", "tracer@example.com"),
            ("BOOTSTRAP_ADMIN_PASSWORD", "a long and unusual passphrase"),
            // Quiet logs must not silence the traces.
            ("LOG_LEVEL", "warn"),
        ],
    );
    let request_id = "trace-me-0001";
    let body = r#"{"email":"tracer@example.com","password":"a long and unusual passphrase"}"#;
    let mut stream = std::net::TcpStream::connect(&service.addr).expect("connect");
    write!(
        stream,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Request-Id: {request_id}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // SIGTERM flushes the batch of spans on the way out.
    service.signal("TERM");
    let (code, logs) = service.wait(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{logs}");
    let mut received = Vec::new();
    while let Ok(span) = spans.recv_timeout(Duration::from_secs(1)) {
        received.push(span);
    }

    let http = received
        .iter()
        .find(|s| {
            s.name == "request"
                && s.attributes.get("request_id").map(String::as_str) == Some(request_id)
        })
        .unwrap_or_else(|| panic!("the request's span carries its id: {received:#?}"));
    let in_trace: Vec<&Received> = received
        .iter()
        .filter(|s| s.trace_id == http.trace_id)
        .collect();
    let login = in_trace
        .iter()
        .find(|s| s.name == "auth.login")
        .unwrap_or_else(|| panic!("the domain span is in the request's trace: {in_trace:#?}"));
    assert_eq!(
        login.parent_span_id, http.span_id,
        "auth.login is the request's child"
    );
    assert_eq!(
        login.attributes.get("tenant").map(String::as_str),
        Some("default")
    );
    let stores: Vec<&&Received> = in_trace
        .iter()
        .filter(|s| s.name == "store" && s.parent_span_id == login.span_id)
        .collect();
    assert!(
        !stores.is_empty(),
        "the login's reads and writes are store spans under it: {in_trace:#?}"
    );
    assert!(stores
        .iter()
        .all(|s| s.attributes.get("db.system").map(String::as_str) == Some("sqlite")));
    assert!(
        http.trace_id.iter().any(|b| *b != 0) && http.trace_id.len() == 16,
        "a real trace id"
    );
}
