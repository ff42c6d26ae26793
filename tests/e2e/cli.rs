//! The command line: configuration errors, `config`, `migrate`, `--help`.

use std::process::Command;

use crate::service::binary;

fn run(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, String, String) {
    let mut command = Command::new(binary());
    command.current_dir(dir).env_clear().args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("run user-service");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_invalid_setting_stops_start_up_with_one_line_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, _, stderr) = run(dir.path(), &[], &[("PORT", "eighty")]);
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr.trim(),
        "user-service: invalid configuration: PORT = \"eighty\" (from environment): \
         allowed values are 0-65535 (0: any free port)"
    );
    let (code, _, stderr) = run(dir.path(), &[], &[("ENV", "staging")]);
    assert_eq!(code, Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("ENV") && stderr.contains("development | production"));
}

#[test]
fn config_prints_effective_values_with_sources_and_redacts_secrets() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("usvc.toml"), "log_level = \"debug\"\n").expect("write");
    let (code, stdout, _) = run(
        dir.path(),
        &["config", "--config", "usvc.toml"],
        &[
            ("DATABASE_URL", "postgres://app:hunter2@db:5432/users"),
            ("PORT", "9000"),
            ("MASTER_KEY", "c2VjcmV0LW1hc3Rlci1rZXktb2YtMzItYnl0ZXMhISE="),
        ],
    );
    assert_eq!(code, Some(0));
    assert!(stdout.contains("PORT = \"9000\" (environment)"), "{stdout}");
    assert!(
        stdout.contains("LOG_LEVEL = \"debug\" (file usvc.toml)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("HOST = \"127.0.0.1\" (default)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("postgres://app:***@db:5432/users"),
        "{stdout}"
    );
    assert!(!stdout.contains("hunter2"), "{stdout}");
    assert!(
        stdout.contains("MASTER_KEY = \"***\" (environment)"),
        "{stdout}"
    );
    assert!(!stdout.contains("c2VjcmV0"), "{stdout}");
}

#[test]
fn migrate_applies_then_reports_nothing_to_do() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, stdout, stderr) = run(dir.path(), &["migrate"], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let applied: usize = stdout
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count first");
    assert!(
        applied > 0 && stdout.contains("migration(s) applied"),
        "{stdout}"
    );
    let (_, stdout, _) = run(dir.path(), &["migrate"], &[]);
    assert!(stdout.starts_with("0 migration(s) applied"), "{stdout}");
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, stdout, _) = run(dir.path(), &["--help"], &[]);
    assert_eq!(code, Some(0));
    for command in ["serve", "migrate", "config", "admin"] {
        assert!(stdout.contains(command), "{stdout}");
        let (code, help, _) = run(dir.path(), &[command, "--help"], &[]);
        assert_eq!(code, Some(0));
        assert!(help.contains("Usage: user-service"), "{help}");
    }
    let (code, help, _) = run(dir.path(), &["admin", "rotate-keys", "--help"], &[]);
    assert_eq!(code, Some(0));
    assert!(help.contains("signing key"), "{help}");
}

#[test]
fn admin_create_user_makes_the_tenant_and_a_user_who_can_log_in() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, stdout, stderr) = run(
        dir.path(),
        &[
            "admin",
            "create-user",
            "--tenant",
            "acme",
            "--email",
            "ops@acme.io",
            "--role",
            "admin",
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("created tenant acme"), "{stdout}");
    assert!(
        stdout.contains("with role admin in tenant acme"),
        "{stdout}"
    );
    let generated = stderr
        .lines()
        .find_map(|l| l.strip_prefix("password for ops@acme.io: "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("a generated password on stderr: {stderr}"));
    assert!(generated.len() >= 32);

    let (code, _, stderr) = run(
        dir.path(),
        &[
            "admin",
            "create-user",
            "--tenant",
            "acme",
            "--email",
            "OPS@acme.io",
        ],
        &[],
    );
    assert_ne!(code, Some(0), "a taken email fails");
    assert!(stderr.contains("already exists"), "{stderr}");
    let (code, _, stderr) = run(
        dir.path(),
        &[
            "admin",
            "create-user",
            "--email",
            "x@acme.io",
            "--role",
            "root",
        ],
        &[],
    );
    assert_ne!(code, Some(0));
    assert!(stderr.contains("role"), "{stderr}");

    // --password-stdin: the password never appears in the process list.
    let out = create_dev(dir.path());
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("password for"),
        "nothing generated"
    );

    let service = crate::service::Service::start(dir.path(), &[]);
    for (email, password) in [
        ("ops@acme.io", generated),
        ("dev@acme.io", "a chosen and unusual passphrase"),
    ] {
        let (status, body) = service.send(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&serde_json::json!({"tenant": "acme", "email": email, "password": password})),
        );
        assert_eq!(status, 200, "{email}: {body}");
    }

    // The platform grant comes from the command line only.
    let token = |service: &crate::service::Service| {
        let (_, body) = service.send(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&serde_json::json!({"tenant": "acme", "email": "dev@acme.io", "password": "a chosen and unusual passphrase"})),
        );
        let body: serde_json::Value = serde_json::from_str(&body).expect("json");
        body["access_token"].as_str().expect("token").to_owned()
    };
    let dev = token(&service);
    let (status, _) = service.send("GET", "/api/v1/tenants", Some(&dev), None);
    assert_eq!(status, 403, "not without the grant");
    let grant = [
        "admin",
        "grant-platform",
        "--tenant",
        "acme",
        "--email",
        "dev@acme.io",
    ];
    let (code, stdout, stderr) = run(dir.path(), &grant, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("platform grant granted for dev@acme.io"),
        "{stdout}"
    );
    let (code, _, stderr) = run(
        dir.path(),
        &[
            "admin",
            "grant-platform",
            "--tenant",
            "acme",
            "--email",
            "nobody@acme.io",
        ],
        &[],
    );
    assert_ne!(code, Some(0));
    assert!(stderr.contains("not found"), "{stderr}");
    // A fresh login: the refusal above was cached for this user for up to 30 s.
    drop(service);
    let service = crate::service::Service::start(dir.path(), &[]);
    let dev = token(&service);
    let (status, body) = service.send("GET", "/api/v1/tenants", Some(&dev), None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"slug\":\"acme\""), "{body}");
    let revoke = [
        "admin",
        "revoke-platform",
        "--tenant",
        "acme",
        "--email",
        "dev@acme.io",
    ];
    let (code, stdout, stderr) = run(dir.path(), &revoke, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("platform grant revoked"), "{stdout}");
}

/// Creates `dev@acme.io` with a chosen password, read from stdin by `admin create-user`.
fn create_dev(dir: &std::path::Path) -> std::process::Output {
    use std::io::Write as _;
    let mut child = Command::new(binary())
        .current_dir(dir)
        .env_clear()
        .args([
            "admin",
            "create-user",
            "--tenant",
            "acme",
            "--email",
            "dev@acme.io",
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"a chosen and unusual passphrase\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn a_backup_taken_while_serving_restores_into_a_fresh_data_dir() {
    let live = tempfile::tempdir().expect("temp dir");
    create_dev(live.path());
    let login = serde_json::json!({"tenant": "acme", "email": "dev@acme.io",
                                   "password": "a chosen and unusual passphrase"});
    let service = crate::service::Service::start(live.path(), &[]);
    let (status, body) = service.send("POST", "/api/v1/auth/login", None, Some(&login));
    assert_eq!(status, 200, "{body}");
    let token: serde_json::Value = serde_json::from_str(&body).expect("json");
    let token = token["access_token"].as_str().expect("token").to_owned();
    let (status, body) = service.send(
        "POST",
        "/api/v1/projects",
        Some(&token),
        Some(&serde_json::json!({"name": "Kept"})),
    );
    assert_eq!(status, 201, "{body}");

    // Taken while the service runs.
    let saved = tempfile::tempdir().expect("temp dir");
    let target = saved.path().join("backup");
    let target_arg = target.to_string_lossy().into_owned();
    let (code, stdout, stderr) = run(live.path(), &["admin", "backup", "--to", &target_arg], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("master key copied"), "{stdout}");
    let (code, _, stderr) = run(live.path(), &["admin", "backup", "--to", &target_arg], &[]);
    assert_ne!(code, Some(0), "never over an earlier backup");
    assert!(stderr.contains("exists already"), "{stderr}");
    drop(service);

    // A fresh place, the backup as its data: the user logs in and the project is there.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let database_url = format!("sqlite://{}", target.join("user-service.db").display());
    let restored = crate::service::Service::start(
        elsewhere.path(),
        &[("DATA_DIR", &target_arg), ("DATABASE_URL", &database_url)],
    );
    let (status, body) = restored.send("POST", "/api/v1/auth/login", None, Some(&login));
    assert_eq!(status, 200, "{body}");
    let token: serde_json::Value = serde_json::from_str(&body).expect("json");
    let (status, body) = restored.send(
        "GET",
        "/api/v1/projects",
        Some(token["access_token"].as_str().expect("token")),
        None,
    );
    assert_eq!(status, 200);
    assert!(body.contains("Kept"), "{body}");

    // PostgreSQL deployments are told where the procedure is.
    let (code, _, stderr) = run(
        live.path(),
        &["admin", "backup", "--to", "x"],
        &[("DATABASE_URL", "postgres://app@db/users")],
    );
    assert_ne!(code, Some(0));
    assert!(stderr.contains("pg_dump"), "{stderr}");
}
