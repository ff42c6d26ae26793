//! Group commit inside the store: concurrent writes of one kind share a statement and a
//! commit, and each caller still returns only once its own write has committed.
//!
//! A small write's cost is its round trip, its statement and its commit more than its rows
//! (docs/benchmarks.md; ADR 0030: Postgres project creates at 16 connections went from 0.21
//! to 0.46 of the database's raw commit rate in the suite when batched). So a write of a
//! batched kind is queued; if fewer than the store's `group_writers` batches are being
//! written (a quarter of the pool, rounded down, at least one; one on SQLite, whose writes
//! take turns), the caller
//! starts a writer, which takes everything queued (up to `max_batch`), writes it with the
//! kind's `write_many`, answers every caller of the batch, and goes on while more is queued.
//! Writes that arrive while the writers are busy wait for the next batch, so batches grow
//! with the load and a lone write goes out at once, alone (no timer, no added latency).
//!
//! A batch is atomic. One that fails with `Conflict` (a constraint: a name already taken, say)
//! was rolled back and is written again one write at a time, so only the write that cannot
//! succeed fails, and only for its own caller. Any other failure (the database unreachable,
//! a timeout, a deadlock) is every caller's answer at once: retrying write by write would
//! hold them for a timeout each, and a batch whose commit answer was lost would be retried
//! into `Conflict`s for writes that did commit. A writer runs detached from the request that
//! started it (a cancelled request does not stop a batch other callers wait on), each batch is
//! one unit of store work with its timeouts ([`Store::write_in_place`]: the writer already
//! runs on the store runtime), and no task stays when nothing is queued.
//!
//! A write waits in the queue at most the store's connection wait (`DB_TIMEOUT`, what it
//! would have waited for a connection of its own): still queued past it, it is taken out and
//! answered `Unavailable` (503), never written. Once a writer has taken it, it waits for its
//! batch, which the query timeout bounds.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;
use tracing::Instrument as _;
use usvc_core::CoreError;

use crate::backend::Connection;
use crate::store::{Store, Work};

/// Writes a batch (all of it or nothing) on the connection, answering each write of it in
/// order: `R` is what a write's caller hears back (a created row's `()`, a refresh rotation's
/// outcome).
pub(crate) type WriteMany<T, R> = for<'c> fn(&'c mut Connection, &'c [T]) -> Work<'c, Vec<R>>;

/// A queued write: its ticket (what takes it out of the queue at its deadline), the write,
/// and where its answer goes.
type Waiting<T, R> = (u64, T, oneshot::Sender<Result<R, CoreError>>);

/// One kind of write, batched (see the module's doc). Cloning shares the queue.
pub(crate) struct GroupCommit<T, R = ()> {
    shared: Arc<Shared<T, R>>,
}

impl<T, R> Clone for GroupCommit<T, R> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

struct Shared<T, R> {
    /// The kind of write, the `kind` label of the batch counters on `/metrics`.
    kind: &'static str,
    state: Mutex<State<T, R>>,
    write_many: WriteMany<T, R>,
    max_batch: usize,
}

struct State<T, R> {
    queued: VecDeque<Waiting<T, R>>,
    /// Writers running now (each writes one batch at a time).
    writing: usize,
    /// The ticket of the next write queued.
    next_ticket: u64,
}

impl<T: Clone + Send + Sync + 'static, R: Send + 'static> GroupCommit<T, R> {
    /// Batches of at most `max_batch` (at least one) writes of `kind`; as many written at
    /// once as the store's [`Store::group_writers`].
    pub(crate) fn new(kind: &'static str, write_many: WriteMany<T, R>, max_batch: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                kind,
                state: Mutex::new(State {
                    queued: VecDeque::new(),
                    writing: 0,
                    next_ticket: 0,
                }),
                write_many,
                max_batch: max_batch.max(1),
            }),
        }
    }

    /// Writes `item` in the next batch on `store`; returns once that batch has committed
    /// (`Ok`) or `item` has failed on its own (its error), or `Unavailable` when no writer
    /// took it within the store's connection wait (then it was not written).
    pub(crate) async fn write(&self, store: &Store, item: T) -> Result<R, CoreError> {
        let (reply, mut committed) = oneshot::channel();
        let (ticket, start_writer) = {
            let mut state = self.lock();
            let ticket = state.next_ticket;
            state.next_ticket += 1;
            state.queued.push_back((ticket, item, reply));
            let free = state.writing < store.group_writers();
            if free {
                state.writing += 1;
            }
            (ticket, free)
        };
        if start_writer {
            // Counted before the task exists: should the runtime drop it unrun (shutting
            // down), the guard's drop still counts the writer down and answers the queue.
            let leaving = Leaving(Some(self.clone()));
            let (batches, writer) = (self.clone(), store.clone());
            store.spawn_detached(
                async move { batches.write_while_queued(&writer, leaving).await }.in_current_span(),
            );
        }
        let dropped =
            |_| CoreError::Unavailable("the write was dropped before it committed".into());
        match tokio::time::timeout(store.wait_timeout(), &mut committed).await {
            Ok(answer) => answer.map_err(dropped)?,
            Err(_) if self.withdraw(ticket) => Err(CoreError::Unavailable(
                "the database is busy: the write waited too long for its turn".into(),
            )),
            // A writer took it meanwhile: its batch's answer is on its way.
            Err(_) => committed.await.map_err(dropped)?,
        }
    }

    /// Takes the write with `ticket` out of the queue if no writer has taken it yet.
    fn withdraw(&self, ticket: u64) -> bool {
        let mut state = self.lock();
        let before = state.queued.len();
        state.queued.retain(|(queued, _, _)| *queued != ticket);
        state.queued.len() < before
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T, R>> {
        // Nothing in this module panics while holding the lock; a poisoned queue is still whole.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// One writer: batches until nothing is queued. Leaves with `writing` counted down in the
    /// same critical section that found the queue empty, so a write queued after that starts
    /// a writer of its own.
    async fn write_while_queued(&self, store: &Store, mut leaving: Leaving<T, R>) {
        loop {
            let batch: Vec<Waiting<T, R>> = {
                let mut state = self.lock();
                let take = state.queued.len().min(self.shared.max_batch);
                if take == 0 {
                    state.writing -= 1;
                    leaving.0 = None;
                    return;
                }
                state.queued.drain(..take).collect()
            };
            self.write_batch(store, batch).await;
        }
    }

    /// Writes `batch` as one; if that fails, each write alone, so each caller hears its own
    /// outcome.
    async fn write_batch(&self, store: &Store, batch: Vec<Waiting<T, R>>) {
        let (items, replies): (Vec<T>, Vec<_>) = batch
            .into_iter()
            .map(|(_, item, reply)| (item, reply))
            .unzip();
        let kind = self.shared.kind;
        metrics::counter!("usvc_store_group_commit_batches_total", "kind" => kind).increment(1);
        metrics::counter!("usvc_store_group_commit_writes_total", "kind" => kind)
            .increment(items.len() as u64);
        let items = Arc::new(items);
        match self.write_items(store, items.clone()).await {
            Ok(answers) => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(Ok(answer));
                }
            }
            Err(CoreError::Conflict(_)) if items.len() > 1 => {
                for (item, reply) in items.iter().zip(replies) {
                    let alone = Arc::new(vec![item.clone()]);
                    // `write_items` checked that a batch of one has one answer.
                    let answer = self
                        .write_items(store, alone)
                        .await
                        .map(|mut answers| answers.swap_remove(0));
                    let _ = reply.send(answer);
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }

    /// `items` written as one batch, each write's answer in their order.
    async fn write_items(&self, store: &Store, items: Arc<Vec<T>>) -> Result<Vec<R>, CoreError> {
        let write_many = self.shared.write_many;
        let count = items.len();
        // A panic in a batch is its callers' `Internal` error, as it was when each batch ran
        // in a task of its own: the writer goes on with the queue.
        let batch = store
            .write_in_place(move |conn| Box::pin(async move { write_many(conn, &items).await }));
        let answers = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(batch))
            .await
            .map_err(|_| CoreError::Internal("a group-commit batch panicked".into()))??;
        if answers.len() == count {
            Ok(answers)
        } else {
            Err(CoreError::Internal(format!(
                "a batch of {count} writes was answered {} times",
                answers.len()
            )))
        }
    }
}

/// Counts a writer down should it end without finding the queue empty (a panic in a batch,
/// or its task dropped unrun by a runtime shutting down). If it was the last writer, what is
/// still queued is answered `Unavailable` (its reply dropped) rather than left waiting for a
/// write that may never come to start another writer.
struct Leaving<T, R>(Option<GroupCommit<T, R>>);

impl<T, R> Drop for Leaving<T, R> {
    fn drop(&mut self) {
        if let Some(batches) = self.0.take() {
            let mut state = batches
                .shared
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            state.writing -= 1;
            if state.writing == 0 {
                state.queued.clear();
            }
        }
    }
}
