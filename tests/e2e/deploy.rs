//! The deployment files, checked without an engine or a cluster: the compose file against the
//! Compose Specification's JSON Schema (check-jsonschema) and the Kubernetes manifests against
//! the Kubernetes OpenAPI schemas, strictly (kubernetes-validate) — both pinned in
//! `tests/deploy/requirements.txt` and installed by `.ci/run`, which sets `CHECK_JSONSCHEMA`,
//! `KUBERNETES_VALIDATE` and `REQUIRE_DEPLOY_TOOLS=1` — every file compose mounts present, and
//! the Grafana dashboard querying only series the service exports, and the load balancer's
//! configuration (`deploy/haproxy/haproxy.cfg`) accepted by HAProxy (`haproxy -c`) both as
//! compose runs it and as the local cluster does.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository")
        .to_path_buf()
}

/// Runs the validator `env` names (or `default` on `PATH`) with `args` in the repository;
/// `false` when it is not installed and not required.
fn validate(env: &str, default: &str, args: &[&str]) -> bool {
    let tool = std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from);
    let out = Command::new(&tool)
        .current_dir(repository())
        // The compose file refuses to be read without a MASTER_KEY; any value does here.
        .env("MASTER_KEY", "unused-for-validation")
        .args(args)
        .output();
    let Ok(out) = out else {
        assert!(
            std::env::var_os("REQUIRE_DEPLOY_TOOLS").is_none(),
            "REQUIRE_DEPLOY_TOOLS is set but {} does not run",
            tool.display()
        );
        eprintln!("skipping: {default} is not installed (see tests/deploy/requirements.txt)");
        return false;
    };
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

#[test]
fn the_compose_file_follows_the_compose_specification() {
    validate(
        "CHECK_JSONSCHEMA",
        "check-jsonschema",
        &[
            "--builtin-schema",
            "vendor.compose-spec",
            "deploy/docker-compose.yml",
        ],
    );
}

#[test]
fn the_kubernetes_manifests_follow_the_kubernetes_schemas() {
    let dir = repository().join("deploy/kubernetes");
    let mut manifests: Vec<String> = std::fs::read_dir(&dir)
        .expect("deploy/kubernetes")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            format!(
                "deploy/kubernetes/{}",
                p.file_name().unwrap().to_string_lossy()
            )
        })
        .collect();
    manifests.sort();
    let kinds = manifests
        .iter()
        .map(|m| std::fs::read_to_string(repository().join(m)).expect("manifest"))
        .filter_map(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("kind: ").map(str::to_owned))
        })
        .collect::<Vec<_>>();
    for kind in [
        "Deployment",
        "Service",
        "Job",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "Secret",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }
    let mut args = vec!["--strict", "--quiet"];
    args.extend(manifests.iter().map(String::as_str));
    validate("KUBERNETES_VALIDATE", "kubernetes-validate", &args);
}

#[test]
fn the_load_balancer_configuration_is_valid_for_compose_and_for_local_replicas() {
    let compose: &[(&str, &str)] = &[
        ("USVC_REPLICAS_DNS", "user-service:8008"),
        ("USVC_LB_BIND", ":8008"),
        ("USVC_LB_STATS", ":8404"),
    ];
    let local: &[(&str, &str)] = &[
        ("USVC_REPLICA_1", "127.0.0.1:8101"),
        ("USVC_REPLICA_2", "127.0.0.1:8102"),
        ("USVC_REPLICA_3", "127.0.0.1:8103"),
        ("USVC_LB_BIND", "127.0.0.1:8008"),
    ];
    let compose_file =
        std::fs::read_to_string(repository().join("deploy/docker-compose.yml")).expect("compose");
    for (key, value) in compose {
        assert!(
            compose_file.contains(&format!("{key}: {value}"))
                || compose_file.contains(&format!("{key}: \"{value}\"")),
            "compose sets {key}: {value}"
        );
    }
    for env in [compose, local] {
        let out = Command::new("haproxy")
            .current_dir(repository())
            .envs(env.iter().copied())
            .args(["-c", "-f", "deploy/haproxy/haproxy.cfg"])
            .output();
        let Ok(out) = out else {
            assert!(
                std::env::var_os("REQUIRE_DEPLOY_TOOLS").is_none(),
                "REQUIRE_DEPLOY_TOOLS is set but haproxy is not installed"
            );
            eprintln!("skipping: haproxy is not installed (apt-get install haproxy)");
            return;
        };
        assert!(
            out.status.success(),
            "{env:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_file_the_compose_file_mounts_is_in_the_repository() {
    let deploy = repository().join("deploy");
    let compose = std::fs::read_to_string(deploy.join("docker-compose.yml")).expect("compose");
    let mounted: Vec<&str> = compose
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- ./"))
        .map(|l| l.split(':').next().unwrap_or(l))
        .collect();
    assert!(mounted.len() >= 5, "{mounted:?}");
    for path in mounted {
        assert!(
            deploy.join(path).exists(),
            "deploy/{path} is mounted but missing"
        );
    }
}

#[test]
fn the_dashboard_queries_only_series_the_service_exports() {
    let root = repository();
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            root.join("deploy/observability/grafana/dashboards/user-service.json"),
        )
        .expect("dashboard"),
    )
    .expect("JSON");
    let mut sources = String::new();
    for dir in [
        "apps/user-service/src",
        "crates/runtime/src",
        "infrastructure/logger/src",
        "infrastructure/cache/src",
    ] {
        for entry in walk(&root.join(dir)) {
            sources.push_str(&std::fs::read_to_string(entry).unwrap_or_default());
        }
    }
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 8);
    for panel in panels {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            for name in expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("usvc_"))
            {
                let series = name
                    .trim_end_matches("_bucket")
                    .trim_end_matches("_count")
                    .trim_end_matches("_sum");
                assert!(
                    sources.contains(&format!("\"{series}\"")),
                    "{}: {series} is not a series the service exports",
                    panel["title"]
                );
            }
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}
