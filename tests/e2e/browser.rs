//! The hosted pages in a real browser (docs/oidc.md): headless Chromium, driven by Playwright
//! (`tests/browser/hosted_login.mjs`), signs in with a password and TOTP, adds a passkey on
//! the account page through Chrome's virtual authenticator, signs out and signs in with the
//! passkey alone. Here the service is started, the owner's TOTP turned on and the client
//! registered; the codes the browser brought back are exchanged at the token endpoint, and
//! the ID tokens say how the user signed in (`amr`).
//!
//! Debian's `chromium` and the pinned `playwright-core` (`tests/browser/package.json`) are
//! installed by `.ci/run`, which sets `REQUIRE_BROWSER=1`; elsewhere the test says "skipping"
//! when either is missing. `SCREENSHOTS=dir` keeps the pages' screenshots (docs/images holds
//! the ones in the docs).

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::service::{send, send_text, Service};

const EMAIL: &str = "owner@example.com";
const PASSWORD: &str = "a long and unusual passphrase";

/// The browser and the driver, if both are here.
fn tools() -> Option<(PathBuf, PathBuf)> {
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or("/usr/bin/chromium".into()));
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let driver = browser_dir.join("node_modules/playwright-core");
    if chromium.exists() && driver.exists() {
        return Some((chromium, browser_dir));
    }
    assert!(
        std::env::var_os("REQUIRE_BROWSER").is_none(),
        "REQUIRE_BROWSER is set but {} or {} is missing",
        chromium.display(),
        driver.display()
    );
    eprintln!(
        "skipping the browser test: chromium or playwright-core is not installed (see .ci/run)"
    );
    None
}

/// `(status, parsed body)` of a JSON request.
fn call(
    service: &Service,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let (status, text) = send(&service.addr, method, path, token, Some(body));
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The client's redirect URI: a listener answering every request with a short page (the
/// browser's arrival there, with its code, is what the test reads).
fn client_callback() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a callback port");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let mut stream = stream;
            let mut buffer = [0_u8; 4096];
            let _ = std::io::Read::read(&mut stream, &mut buffer);
            let page = "<!doctype html><title>Client</title><p>back at the client</p>";
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = std::io::Write::write_all(&mut stream, answer.as_bytes());
        }
    });
    format!("http://127.0.0.1:{port}/callback")
}

/// A PKCE pair: (verifier, S256 challenge).
fn pkce(seed: &str) -> (String, String) {
    let verifier = format!("verifier-{seed}-{}", "x".repeat(43));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The claims of a JWT, unverified (the signature is the OIDC test's concern).
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("json")
}

#[test]
fn the_hosted_pages_sign_in_with_password_totp_and_a_passkey_in_chromium() {
    let Some((chromium, browser_dir)) = tools() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
        .to_string();
    // `localhost` is a secure context over plain HTTP: WebAuthn works, and is the RP id.
    let base = format!("http://localhost:{port}");
    let service = Service::start(
        dir.path(),
        &[
            ("PORT", &port),
            ("PUBLIC_URL", &base),
            ("BOOTSTRAP_ADMIN_EMAIL", EMAIL),
            ("BOOTSTRAP_ADMIN_PASSWORD", PASSWORD),
            ("AUTH_RATE_LIMIT", "0"),
        ],
    );
    let login = json!({"email": EMAIL, "password": PASSWORD});
    let (_, tokens) = call(&service, "POST", "/api/v1/auth/login", None, &login);
    let admin = tokens["access_token"]
        .as_str()
        .expect("owner token")
        .to_owned();

    // The owner turns TOTP on (the browser computes the codes from the secret).
    let (status, enrolled) = call(
        &service,
        "POST",
        "/api/v1/auth/mfa/totp/enroll",
        Some(&admin),
        &json!({"password": PASSWORD}),
    );
    assert_eq!(status, 200, "{enrolled}");
    let secret = enrolled["secret"].as_str().expect("secret").to_owned();
    // The previous step's code: the browser uses the next one (each works once).
    let code = totp_at(&secret, -30);
    let (status, confirmed) = call(
        &service,
        "POST",
        "/api/v1/auth/mfa/totp/confirm",
        Some(&admin),
        &json!({"code": code}),
    );
    assert_eq!(status, 200, "{confirmed}");

    let redirect = client_callback();
    let (status, client) = call(
        &service,
        "POST",
        "/api/v1/oauth/clients",
        Some(&admin),
        &json!({"name": "Browser test", "kind": "public", "redirect_uris": [redirect], "trusted": true}),
    );
    assert_eq!(status, 201, "{client}");
    let client_id = client["client_id"].as_str().expect("client id").to_owned();
    let flows: Vec<(String, String)> = ["first", "second", "third"]
        .iter()
        .map(|s| pkce(s))
        .collect();
    let urls: Vec<String> = flows
        .iter()
        .map(|(_, challenge)| {
            format!(
                "{base}/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20email&state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256",
                url_encode(&redirect)
            )
        })
        .collect();

    let shots =
        std::env::var("SCREENSHOTS").map_or_else(|_| dir.path().join("screenshots"), PathBuf::from);
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let out = Command::new("node")
        .arg(browser_dir.join("hosted_login.mjs"))
        .current_dir(&browser_dir)
        .env("BASE", &base)
        .env("AUTHORIZE_URLS", urls.join(" "))
        .env("EMAIL", EMAIL)
        .env("PASSWORD", PASSWORD)
        .env("TOTP_SECRET", &secret)
        .env("REDIRECT", &redirect)
        .env("SCREENSHOTS", &shots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the browser run failed:\n{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        service.stderr().join("\n")
    );
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(
        result["listed"], 1,
        "the account page lists the passkey: {result}"
    );

    // Each code the browser brought back is the client's, and the ID token says how.
    for ((verifier, _), (key, amr)) in flows.iter().zip([
        ("password_code", json!(["pwd", "mfa"])),
        ("second_factor_code", json!(["pwd", "hwk", "mfa"])),
        ("passkey_code", json!(["hwk", "mfa"])),
    ]) {
        let code = result[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key}: {result}"));
        let form = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&client_id={client_id}&code_verifier={verifier}",
            url_encode(&redirect)
        );
        let (status, text) = send_text(
            &service.addr,
            "POST",
            "/oauth/token",
            None,
            Some(("application/x-www-form-urlencoded", &form)),
        );
        assert_eq!(status, 200, "{key}: {text}");
        let tokens: Value = serde_json::from_str(&text).expect("json");
        let id = claims(tokens["id_token"].as_str().expect("an ID token"));
        assert_eq!(id["amr"], amr, "{key}: {id}");
        assert_eq!(id["email"], EMAIL);
    }
    for name in ["sign-in", "second-factor", "account-passkeys"] {
        assert!(
            shots.join(format!("{name}.png")).exists(),
            "{name}.png taken"
        );
    }
}

/// The TOTP code of `secret` (base32) `offset` seconds from now.
fn totp_at(secret: &str, offset: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("base32");
    let totp = totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        None,
        String::new(),
    );
    let at = chrono::Utc::now().timestamp() + offset;
    totp.generate(u64::try_from(at).expect("after 1970"))
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
