//! The store handle shared by both adapters (compiled into each; see README.md beside this file).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use diesel_async::RunQueryDsl;
use std::future::Future;
use std::pin::Pin;
use tokio::runtime::Handle;
use tracing::Instrument as _;
use usvc_core::ports::{Clock, ComponentHealth, HealthCheck, HealthStatus, PoolStats, SystemClock};
use usvc_core::CoreError;

use diesel_async::pooled_connection::AsyncDieselConnectionManager;

use crate::backend::{Connection, Pool};
use crate::errors;
use crate::group_commit::GroupCommit;

/// Most writes in one group-commit batch: bounds a batch's statement (whose text, kept
/// prepared, differs per batch size, so also how many texts a connection keeps for it).
const GROUP_MAX_BATCH: usize = 16;

tokio::task_local! {
    /// Set by `audit_queue::queue` while a unit of work queues audit entries, so the store
    /// can tell the sequencer once that work has committed.
    pub(crate) static AUDIT_QUEUED: std::cell::Cell<bool>;
}

/// A unit of database work borrowing a connection, as `Store::run` takes it.
pub(crate) type Work<'c, T> = Pin<Box<dyn Future<Output = Result<T, CoreError>> + Send + 'c>>;

/// Pool settings for a store.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Most connections.
    pub pool_size: usize,
    /// How long to wait for a connection (and for a new one to be made) before answering
    /// `Unavailable`, so a dead database fails requests fast instead of hanging them.
    pub timeout: Duration,
    /// The longest any one unit of work may hold a connection. Past it the work is abandoned
    /// and its connection discarded (never returned to the pool in an unknown state), so a
    /// half-open TCP connection cannot pin a pool slot forever.
    pub query_timeout: Duration,
    /// Pooled connections not handed out for this long are closed, all but one
    /// (`DB_IDLE_TIMEOUT`): a load opens up to `pool_size` of them, each keeping buffers grown
    /// to the largest statement and result it carried and its prepared statements (about
    /// 2.5 MB each after a load of audited lookups) and a server process, and nothing shrinks
    /// them while they sit idle in the pool (ADR 0029).
    pub idle_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            pool_size: 10,
            timeout: Duration::from_secs(5),
            query_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
        }
    }
}

/// Connections the idle sweep leaves open however long they idle, so the first request after
/// a quiet spell does not wait for a connect.
const KEPT_IDLE: usize = 1;

/// Closes the pool's connections unused for `idle_timeout` (all but [`KEPT_IDLE`]), looking
/// every half of it; ends once the pool is gone (it holds the pool only weakly). A check costs
/// a lock on the pool's idle list, no database work. The pool hands out the connection
/// returned last (LIFO, [`Store::build`]), so light traffic keeps reusing one connection and
/// the rest age out; its idle list runs from the least to the most recently returned.
fn sweep_idle_connections(pool: &Pool, idle_timeout: Duration, runtime: &Handle) {
    let pool = pool.weak();
    let every = (idle_timeout / 2).max(Duration::from_millis(100));
    runtime.spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let Some(pool) = pool.upgrade() else {
                return;
            };
            // The last KEPT_IDLE of the idle list (the most recently returned) stay. `available`
            // is counted apart from the list, so a connection being returned or discarded at
            // this instant can make it keep one more, or (rarely) none: the next unit of work
            // then opens one.
            let oldest_closable = pool.status().available.saturating_sub(KEPT_IDLE);
            let mut position = 0;
            let swept = pool.retain(|_, metrics| {
                let keep = position >= oldest_closable || metrics.last_used() < idle_timeout;
                position += 1;
                keep
            });
            if !swept.removed.is_empty() {
                tracing::debug!(
                    closed = swept.removed.len(),
                    "idle database connections closed"
                );
            }
        }
    });
}

/// A connection pool plus the multi-threaded runtime every query runs on.
///
/// Each call is spawned as a task on that runtime and awaited through its join handle, so a
/// caller that is dropped mid-query (a cancelled HTTP request on an actix worker) only drops
/// the handle: the query finishes on the store runtime and the connection returns to the pool
/// intact. This is what keeps SQLite's `SyncConnectionWrapper` from blocking (and panicking) a
/// single-threaded actix worker in its `Drop`. (A group-commit writer, itself a detached task
/// on that runtime, runs its batches in place: `write_in_place`.)
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    runtime: Handle,
    timeout: Duration,
    query_timeout: Duration,
    /// On a store with one writer at a time (SQLite), the queue write transactions take
    /// turns in, so they wait in order instead of in the database's sleeping busy handler.
    writer: Option<Arc<tokio::sync::Mutex<()>>>,
    /// Time read inside a transaction (under a lock, so timelines follow commit order).
    clock: Arc<dyn Clock>,
    /// Held for the store's life and never used: what keeps an in-memory database alive
    /// while the pool replaces its connections.
    anchor: Option<Arc<dyn std::any::Any + Send + Sync>>,
    /// Notified after each unit of work that queued audit entries has succeeded (committed):
    /// what wakes the audit sequencer ([`Self::audit_queued`]).
    audit_queued: Arc<tokio::sync::Notify>,
    /// The `forget_before` (Unix seconds) of the last sweep of expired rate-limit windows:
    /// a sweep a second is enough, and a hit without one is a single statement.
    pub(crate) rate_limits_swept: Arc<std::sync::atomic::AtomicI64>,
    /// Project creates without an idempotency key, batched (`group_commit.rs`).
    pub(crate) project_creates: GroupCommit<crate::projects::NewProject>,
    /// Refresh rotations where the store rotates in one statement (Postgres), batched.
    pub(crate) refresh_rotations:
        GroupCommit<crate::sessions::Rotation, Option<crate::sessions::SpentNow>>,
    /// How many batches of one kind are written at once (`group_commit.rs`): a quarter of the
    /// pool, so batches leave connections for everything else.
    group_writers: usize,
}

impl Store {
    /// Builds the pool with the timeouts of `options` on the tokio runtime, so a dead database
    /// fails fast and a restarted one is reconnected to without a restart of the service.
    pub(crate) fn build(
        manager: AsyncDieselConnectionManager<Connection>,
        options: StoreOptions,
        runtime: Handle,
    ) -> Result<Self, CoreError> {
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .queue_mode(deadpool::managed::QueueMode::Lifo)
            .runtime(deadpool::Runtime::Tokio1)
            .wait_timeout(Some(options.timeout))
            .create_timeout(Some(options.timeout))
            .recycle_timeout(Some(options.timeout))
            .build()
            .map_err(|e| CoreError::Internal(format!("database pool: {e}")))?;
        sweep_idle_connections(&pool, options.idle_timeout, &runtime);
        Ok(Self {
            pool,
            runtime,
            timeout: options.timeout,
            query_timeout: options.query_timeout,
            writer: None,
            clock: Arc::new(SystemClock),
            anchor: None,
            audit_queued: Arc::new(tokio::sync::Notify::new()),
            rate_limits_swept: Arc::new(std::sync::atomic::AtomicI64::new(i64::MIN)),
            project_creates: GroupCommit::new(
                "project_create",
                crate::projects::create_many,
                GROUP_MAX_BATCH,
            ),
            refresh_rotations: GroupCommit::new(
                "refresh_rotation",
                crate::sessions::rotate_many,
                GROUP_MAX_BATCH,
            ),
            group_writers: (options.pool_size / 4).max(1),
        })
    }

    /// Notified (one permit kept while nobody waits) each time a unit of work that queued
    /// audit entries has committed: the audit sequencer sleeps on it.
    pub fn audit_queued(&self) -> Arc<tokio::sync::Notify> {
        self.audit_queued.clone()
    }

    /// The same store holding `anchor` for as long as any of its handles lives.
    #[allow(dead_code)] // only the SQLite adapter anchors (its in-memory databases)
    pub(crate) fn anchored(mut self, anchor: Arc<dyn std::any::Any + Send + Sync>) -> Self {
        self.anchor = Some(anchor);
        self
    }

    /// The same store reading time from `clock` (the wall clock by default); the time a
    /// caller passes in is used otherwise, so with a test clock the store is as still as it.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The clock the store reads inside its transactions.
    pub(crate) fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The same store with its write transactions taking turns in the process ([`Self::write`]):
    /// for SQLite, which runs one writer at a time anyway.
    #[allow(dead_code)] // only the SQLite adapter calls it
    pub(crate) fn single_writer(mut self) -> Self {
        self.writer = Some(Arc::new(tokio::sync::Mutex::new(())));
        // Writes take turns anyway: one batch at a time gathers the most per commit.
        self.group_writers = 1;
        self
    }

    /// How long a caller waits for a connection (`DB_TIMEOUT`), and a group-commit write
    /// for a writer to take it.
    pub(crate) fn wait_timeout(&self) -> Duration {
        self.timeout
    }

    /// How many batches of one kind group commit writes at once.
    pub(crate) fn group_writers(&self) -> usize {
        self.group_writers
    }

    /// Runs `task` on the store runtime, not awaited: work no caller's cancellation may stop.
    pub(crate) fn spawn_detached(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.runtime.spawn(task);
    }

    /// [`Self::run`] for a write transaction: on a single-writer store it waits its turn
    /// first (FIFO), so busy writers queue without sleeping; elsewhere it is `run`.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, CoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Connection) -> Work<'c, T> + Send + 'static,
    {
        self.spawn(work, self.writer.clone()).await
    }

    /// Runs `work` with a pooled connection on the store runtime.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, CoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Connection) -> Work<'c, T> + Send + 'static,
    {
        self.spawn(work, None).await
    }

    /// [`Self::write`] on the caller's own task, for a caller already running on the store
    /// runtime (a group-commit writer, `group_commit.rs`): the same turn, connection and
    /// timeouts, without a task of its own to spawn and be woken from once per batch.
    pub(crate) async fn write_in_place<T, F>(&self, work: F) -> Result<T, CoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Connection) -> Work<'c, T> + Send + 'static,
    {
        metrics::counter!("usvc_store_work_total").increment(1);
        let span = tracing::info_span!("store", db.system = crate::backend::DB_SYSTEM);
        self.unit(work, self.writer.clone()).instrument(span).await
    }

    /// `work` on the store runtime, after its turn on `writer` when given (taken inside the
    /// spawned task, so a caller that goes away cannot end the turn while the work runs).
    async fn spawn<T, F>(
        &self,
        work: F,
        writer: Option<Arc<tokio::sync::Mutex<()>>>,
    ) -> Result<T, CoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Connection) -> Work<'c, T> + Send + 'static,
    {
        // Every unit of work (one or more statements, at most one transaction) is counted:
        // `/metrics` shows what the service asks of its database, busy or idle, on either
        // store (`usvc-bench idle` reads it).
        metrics::counter!("usvc_store_work_total").increment(1);
        // One span per unit of work, a child of the caller's (the domain operation inside the
        // HTTP request), so a trace shows where a request spent its time in the database.
        let span = tracing::info_span!("store", db.system = crate::backend::DB_SYSTEM);
        let unit = self.unit(work, writer);
        let task = self.runtime.spawn(unit.instrument(span));
        task.await
            .map_err(|e| CoreError::Internal(format!("store task failed: {e}")))?
    }

    /// One unit of work as it runs: its turn on `writer` when given, a pooled connection,
    /// `work` under the query timeout, and the audit sequencer told once it has committed
    /// entries it queued.
    fn unit<T, F>(
        &self,
        work: F,
        writer: Option<Arc<tokio::sync::Mutex<()>>>,
    ) -> impl Future<Output = Result<T, CoreError>> + Send + 'static
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Connection) -> Work<'c, T> + Send + 'static,
    {
        let pool = self.pool.clone();
        let audit_queued = self.audit_queued.clone();
        let (deadline, wait) = (self.query_timeout, self.timeout);
        async move {
            let _turn = match writer {
                Some(writer) => Some(
                    tokio::time::timeout(wait, writer.lock_owned())
                        .await
                        .map_err(|_| {
                            CoreError::Unavailable(format!(
                                "no turn to write within {} s",
                                wait.as_secs()
                            ))
                        })?,
                ),
                None => None,
            };
            let mut conn = pool.get().await.map_err(errors::pool)?;
            let timed = AUDIT_QUEUED
                .scope(std::cell::Cell::new(false), async {
                    let result = tokio::time::timeout(deadline, work(&mut conn)).await;
                    (result, AUDIT_QUEUED.with(std::cell::Cell::get))
                })
                .await;
            if let (Ok(result), queued) = timed {
                if queued && result.is_ok() {
                    audit_queued.notify_one();
                }
                result
            } else {
                // The connection's state is unknown: detach it so it is closed.
                drop(deadpool::managed::Object::take(conn));
                Err(CoreError::Unavailable(format!(
                    "the database did not finish within {} s",
                    deadline.as_secs()
                )))
            }
        }
    }
}

#[async_trait]
impl HealthCheck for Store {
    fn name(&self) -> &'static str {
        "database_connection"
    }

    async fn check(&self) -> ComponentHealth {
        let started = Instant::now();
        let ping = self.run(|conn| {
            Box::pin(async move {
                diesel::sql_query("SELECT 1")
                    .execute(conn)
                    .await
                    .map_err(errors::query)?;
                Ok(())
            })
        });
        let outcome = match tokio::time::timeout(self.timeout, ping).await {
            Ok(result) => result,
            Err(_) => Err(CoreError::Unavailable(
                "database did not answer in time".into(),
            )),
        };
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        match outcome {
            Ok(()) => ComponentHealth {
                status: HealthStatus::Healthy,
                latency_ms,
                error: None,
            },
            Err(err) => ComponentHealth {
                status: HealthStatus::Unhealthy,
                latency_ms,
                error: Some(err.to_string()),
            },
        }
    }

    fn pool_stats(&self) -> Option<PoolStats> {
        let status = self.pool.status();
        Some(PoolStats {
            max_size: status.max_size as u64,
            size: status.size as u64,
            available: status.available as u64,
            waiting: status.waiting as u64,
        })
    }
}
