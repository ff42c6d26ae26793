//! HTTPS in the binary (`TLS_CERT`, `TLS_KEY`): a client that trusts the certificate talks
//! to it; plain HTTP and a client that does not trust it get nowhere; a bad pair stops start-up.

use crate::service::{binary, Service};

/// A self-signed certificate for `localhost` and its key, as PEM files in `dir`.
fn certificate(dir: &std::path::Path) -> (String, String, String) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, made.cert.pem()).expect("write cert");
    std::fs::write(&key, made.key_pair.serialize_pem()).expect("write key");
    (
        cert.to_string_lossy().into_owned(),
        key.to_string_lossy().into_owned(),
        made.cert.pem(),
    )
}

#[tokio::test]
async fn https_is_served_with_the_configured_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key, pem) = certificate(dir.path());
    let service = Service::start(dir.path(), &[("TLS_CERT", &cert), ("TLS_KEY", &key)]);
    let port = service.addr.rsplit_once(':').expect("port").1.to_owned();
    let url = format!("https://localhost:{port}/health/live");

    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).expect("pem"))
        .build()
        .expect("client");
    let res = trusting.get(&url).send().await.expect("an HTTPS answer");
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), reqwest::Version::HTTP_11);

    let doubting = reqwest::Client::new();
    assert!(
        doubting.get(&url).send().await.is_err(),
        "an untrusted certificate is refused by the client"
    );
    let plain = format!("http://localhost:{port}/health/live");
    assert!(
        trusting
            .get(&plain)
            .send()
            .await
            .map_or(true, |r| r.status() != 200),
        "no plain HTTP on the TLS port"
    );
}

#[test]
fn a_missing_or_mismatched_pair_stops_start_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, _, _) = certificate(dir.path());
    let other = tempfile::tempdir().expect("temp dir");
    let (_, other_key, _) = certificate(other.path());
    for (env, says) in [
        (vec![("TLS_CERT", cert.as_str())], "TLS_KEY"),
        (
            vec![("TLS_CERT", cert.as_str()), ("TLS_KEY", other_key.as_str())],
            "do not make a usable pair",
        ),
        (
            vec![
                ("TLS_CERT", "/nonexistent.pem"),
                ("TLS_KEY", other_key.as_str()),
            ],
            "TLS_CERT /nonexistent.pem",
        ),
    ] {
        let mut command = std::process::Command::new(binary());
        command.current_dir(dir.path()).env_clear().env("PORT", "0");
        for (k, v) in &env {
            command.env(k, v);
        }
        let out = command.output().expect("run");
        assert!(!out.status.success(), "{env:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{env:?}: {stderr}");
    }
}
