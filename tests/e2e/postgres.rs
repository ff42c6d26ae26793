//! The service on Postgres: migrates and serves, and follows the database down and back up
//! without a restart. The outage is simulated by a TCP proxy between the service and Postgres
//! that the test cuts and restores, so the machine's Postgres keeps serving other tests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use usvc_postgres::testing::TestDatabase;

use crate::service::{wait_for_status, Service};

/// Forwards TCP to Postgres; `cut` drops every connection and refuses new ones until `restore`.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let up = Arc::new(AtomicBool::new(true));
        let (cuts, _) = watch::channel(0u64);
        let (accept_up, accept_cuts) = (up.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accept_up.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused
                }
                let upstream = upstream.clone();
                let mut cut = accept_cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Self { addr, up, cuts }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// The `host:port` part of a Postgres URL.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

#[test]
fn migrates_serves_and_follows_postgres_down_and_back_up() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let Some(db) = runtime.block_on(TestDatabase::from_env()) else {
        return;
    };
    let upstream = match authority(&db.url) {
        a if a.contains(':') => a.to_owned(),
        host => format!("{host}:5432"),
    };
    let proxy = runtime.block_on(Proxy::start(upstream.clone()));
    let url = db.url.replacen(&upstream, &proxy.addr.to_string(), 1);
    let url = if url == db.url {
        db.url
            .replacen(authority(&db.url), &proxy.addr.to_string(), 1)
    } else {
        url
    };

    let dir = tempfile::tempdir().expect("temp dir");
    let service = Service::start(dir.path(), &[("DATABASE_URL", &url), ("DB_TIMEOUT", "2")]);
    assert_eq!(service.get("/health").0, 200);
    assert_eq!(service.get("/health/ready").0, 200);
    let (_, detailed) = service.get("/health/detailed");
    assert!(detailed.contains("\"backend\":\"postgres\""), "{detailed}");
    assert!(detailed.contains("postgres-listen-notify"), "{detailed}");

    proxy.cut();
    let (status, body) = wait_for_status(&service, "/health", 503, Duration::from_secs(30));
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"status\":\"unhealthy\""), "{body}");
    assert_eq!(service.get("/health/ready").0, 503);
    assert_eq!(service.get("/health/live").0, 200);
    let (_, detailed) = service.get("/health/detailed");
    let detailed: serde_json::Value = serde_json::from_str(&detailed).expect("json");
    assert_eq!(
        detailed["infrastructure_status"]["invalidation"]["status"], "degraded",
        "the listener lost its connection: {detailed}"
    );

    proxy.restore();
    let (status, body) = wait_for_status(&service, "/health", 200, Duration::from_secs(30));
    assert_eq!(status, 200, "back without a restart: {body}");
    assert_eq!(service.get("/health/ready").0, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, detailed) = service.get("/health/detailed");
        if detailed.contains("\"status\":\"healthy\",\"backend\":\"postgres-listen-notify\"") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "listener did not reconnect: {detailed}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(service);
    drop(db);
}

#[test]
fn the_authority_is_found_in_urls() {
    assert_eq!(
        authority("postgres://postgres@127.0.0.1:5432/test"),
        "127.0.0.1:5432"
    );
    assert_eq!(authority("postgres://u:p@db/x?sslmode=disable"), "db");
    assert_eq!(authority("postgresql://h:1/x"), "h:1");
}
