//! SQLite-specific behaviour; the repository behaviour shared with Postgres is in the
//! conformance suite under `tests/`.

use std::time::Duration;

use diesel_async::RunQueryDsl;
use usvc_core::ports::TenantRepository;

use crate::{migrate, open, StoreOptions};

/// An in-memory store with `options` on the test's runtime.
async fn in_memory(options: StoreOptions) -> crate::SqliteStore {
    open(
        "sqlite::memory:",
        options,
        tokio::runtime::Handle::current(),
    )
    .await
    .expect("open")
}

/// Counts to three million in SQL: long enough to be cancelled mid-flight.
const SLOW_QUERY: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
     WHERE x < 3000000) SELECT count(*) FROM c";

/// Runs [`SLOW_QUERY`] on `store` to its end or its query timeout.
async fn run_slow_query(store: &crate::SqliteStore) -> Result<usize, usvc_core::CoreError> {
    store
        .run(|conn| {
            Box::pin(async move {
                diesel::sql_query(SLOW_QUERY)
                    .execute(conn)
                    .await
                    .map_err(crate::errors::query)
            })
        })
        .await
}

/// docs/design.md section 4: dropping a `SyncConnectionWrapper` query mid-flight blocks in `Drop`
/// (`block_in_place`), which panics on a single-threaded runtime such as an actix worker's.
/// Here the "worker" is a current-thread runtime that gives up on a slow query; the store must
/// neither panic nor lose its only connection.
#[test]
fn a_cancelled_query_cannot_panic_a_single_threaded_worker() {
    let store_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("store runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/hazard.db", dir.path().display());
    let options = StoreOptions {
        pool_size: 1,
        timeout: Duration::from_secs(30),
        ..StoreOptions::default()
    };
    let store = store_runtime
        .block_on(async {
            let store = open(&url, options, tokio::runtime::Handle::current()).await?;
            migrate(&store).await.map(|_| store)
        })
        .expect("open");

    let worker = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("worker runtime");
    worker.block_on(async {
        let slow = store.run(|conn| {
            Box::pin(async move {
                diesel::sql_query(SLOW_QUERY)
                    .execute(conn)
                    .await
                    .map_err(crate::errors::query)
            })
        });
        let gave_up = tokio::time::timeout(Duration::from_millis(20), slow).await;
        assert!(
            gave_up.is_err(),
            "the query must still be running when it is cancelled"
        );

        // With a pool of one, this waits for the cancelled query to finish on the store
        // runtime and then reuses the very same connection.
        let count = store.count().await.expect("the store still answers");
        assert_eq!(count, 0);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_file_and_its_directory_are_created() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested/dir/usvc.db");
    let url = format!("sqlite://{}", path.display());
    let store = open(
        &url,
        StoreOptions::default(),
        tokio::runtime::Handle::current(),
    )
    .await
    .expect("open");
    assert!(
        migrate(&store).await.expect("migrate") > 0,
        "first run applies migrations"
    );
    assert_eq!(
        migrate(&store).await.expect("migrate again"),
        0,
        "second run has nothing"
    );
    assert!(path.exists());
}

/// An in-memory database serves concurrent writers and readers without "table is locked"
/// errors (shared-cache connections would lock each other out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_memory_database_serves_concurrent_writers_and_readers() {
    let store = open(
        "sqlite::memory:",
        StoreOptions::default(),
        tokio::runtime::Handle::current(),
    )
    .await
    .expect("open");
    migrate(&store).await.expect("migrate");
    let store = std::sync::Arc::new(store);
    let work: Vec<_> = (0..40)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                if n % 2 == 0 {
                    let tenant = usvc_core::NewTenant::parse(&format!("t{n}"), "T")
                        .expect("valid")
                        .into_tenant(chrono::Utc::now());
                    store
                        .create(
                            &tenant,
                            &usvc_core::AuditEntry::system(tenant.id, "test", chrono::Utc::now()),
                        )
                        .await
                        .map(|()| 1)
                } else {
                    store.count().await
                }
            })
        })
        .collect();
    for done in work {
        done.await.expect("join").expect("no lock error");
    }
    assert_eq!(store.count().await.expect("count"), 20);
}

/// Work that outlives `query_timeout` is abandoned with `Unavailable` and its connection is
/// discarded; the (one-connection) pool then serves the next call on a fresh connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_past_the_query_timeout_fails_fast_and_frees_its_slot() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/deadline.db", dir.path().display());
    let options = StoreOptions {
        pool_size: 1,
        timeout: Duration::from_secs(30),
        query_timeout: Duration::from_millis(50),
        ..StoreOptions::default()
    };
    // Migrate with generous defaults, so only the slow query meets the short deadline.
    let setup = open(
        &url,
        StoreOptions::default(),
        tokio::runtime::Handle::current(),
    )
    .await
    .expect("open");
    migrate(&setup).await.expect("migrate");
    let store = open(&url, options, tokio::runtime::Handle::current())
        .await
        .expect("open");
    let slow = run_slow_query(&store).await;
    assert!(
        matches!(slow, Err(usvc_core::CoreError::Unavailable(ref m)) if m.contains("did not finish")),
        "{slow:?}"
    );
    assert_eq!(store.count().await.expect("the store still answers"), 0);
}

/// An in-memory database outlives the connection a query timeout discards: the next call
/// finds its tables and rows, not a fresh empty database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_memory_database_survives_a_discarded_connection() {
    let options = StoreOptions {
        pool_size: 1,
        timeout: Duration::from_secs(30),
        query_timeout: Duration::from_millis(50),
        ..StoreOptions::default()
    };
    let store = in_memory(options).await;
    store
        .run(|conn| {
            Box::pin(async move {
                diesel::sql_query("CREATE TABLE kept (x INTEGER)")
                    .execute(conn)
                    .await
                    .map_err(crate::errors::query)?;
                diesel::sql_query("INSERT INTO kept VALUES (7)")
                    .execute(conn)
                    .await
                    .map_err(crate::errors::query)
            })
        })
        .await
        .expect("a table");
    let slow = run_slow_query(&store).await;
    assert!(
        matches!(slow, Err(usvc_core::CoreError::Unavailable(_))),
        "{slow:?}"
    );
    let kept = store
        .run(|conn| {
            Box::pin(async move {
                diesel::sql_query("UPDATE kept SET x = x + 1")
                    .execute(conn)
                    .await
                    .map_err(crate::errors::query)
            })
        })
        .await;
    assert_eq!(kept, Ok(1), "the row is still there on the new connection");
}

/// What [`sleepy_batch`] wrote, in order.
static SLEEPY_WRITTEN: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());
/// Set when a [`sleepy_batch`] has started writing.
static SLEEPY_STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a [`sleepy_batch`] has started (spelled out: diesel's `RunQueryDsl::load` is in
/// scope here).
fn sleepy_started() -> bool {
    std::sync::atomic::AtomicBool::load(&SLEEPY_STARTED, std::sync::atomic::Ordering::SeqCst)
}

/// A batch whose items say how many milliseconds each takes to write; it records them.
fn sleepy_batch<'c>(
    _conn: &'c mut crate::backend::Connection,
    items: &'c [u64],
) -> crate::store::Work<'c, Vec<()>> {
    Box::pin(async move {
        SLEEPY_STARTED.store(true, std::sync::atomic::Ordering::SeqCst);
        for ms in items {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
        }
        SLEEPY_WRITTEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(items);
        Ok(vec![(); items.len()])
    })
}

/// Group commit (ADR 0030): a write no writer takes within the connection wait (`DB_TIMEOUT`)
/// is answered `Unavailable` and never written; one a writer took waits for its batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_commit_write_left_waiting_too_long_is_refused_and_never_written() {
    let options = StoreOptions {
        timeout: Duration::from_millis(200),
        ..StoreOptions::default()
    };
    let store = in_memory(options).await;
    let written = || {
        SLEEPY_WRITTEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    };
    let batches = crate::group_commit::GroupCommit::new("test", sleepy_batch, 16);
    // SQLite writes one batch at a time: this one holds the only writer for 800 ms.
    let slow = {
        let (batches, store) = (batches.clone(), store.clone());
        tokio::spawn(async move { batches.write(&store, 800).await })
    };
    // Queued only once the writer has taken the slow write (however late its thread woke).
    for _ in 0..500 {
        if sleepy_started() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(sleepy_started(), "the batch started");
    let late = batches.write(&store, 1).await;
    assert!(
        matches!(late, Err(usvc_core::CoreError::Unavailable(_))),
        "a write queued behind the batch past the wait is refused: {late:?}"
    );
    let slow = slow.await.expect("join");
    assert!(
        slow.is_ok(),
        "a write taken at once waits for its batch, however long: {slow:?}"
    );
    assert_eq!(written(), vec![800], "the refused write was never written");
    batches.write(&store, 2).await.expect("the queue goes on");
    assert_eq!(written(), vec![800, 2]);
}
