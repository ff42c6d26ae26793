//! `usvc-runtime`: the parts of user-service that run on their own, beside the requests.
//! Each speaks only to ports (`usvc-core`) and the domain crates, starts on the current tokio
//! runtime and stops on its own, so any program can run them with its own adapters (the
//! `user-service` binary is one such program; `examples/` has others, docs/reuse.md says how):
//!
//! | runtime | what it does | stops |
//! |---|---|---|
//! | [`WorkflowWorker`] | claims due workflow steps under a lease, runs them on a bounded pool, records results, renews leases | [`WorkflowWorker::shutdown`] (hands back what it holds) |
//! | [`TriggerLoop`] | starts executions from event and schedule triggers | [`TriggerLoop::stop`] |
//! | [`OutboxRelay`] | hands events staged in the outbox to the [`EventBus`], woken by commits ([`AnnouncedOutbox`] for workflow `event` steps) | [`OutboxRelay::stop`], or dropping the last handle |
//! | [`EventBus`] | the `EventPublisher` port in process: logs, counts, fans out | with its last handle |
//! | [`GroupCommitAuditLog`] | an `AuditLog` whose lone appends share transactions | with its last handle |
//! | [`AuditSequencer`] | chains queued audit entries (positions, hashes) in batches, woken by the commits that queued them | [`AuditSequencer::stop`] |
//! | [`BlockingPool`] | the `Offload` port: CPU-bound work off the request threads | — |
//!
//! The access-token key ring's reload is `usvc_security::key_ring` (it needs the key types).

mod announced_outbox;
mod audit_group_commit;
mod audit_sequencer;
mod blocking_pool;
mod event_bus;
mod gather;
mod outbox_relay;
mod stop;
mod workflow_triggers;
mod workflow_worker;

pub use announced_outbox::AnnouncedOutbox;
pub use audit_group_commit::GroupCommitAuditLog;
pub use audit_sequencer::AuditSequencer;
pub use blocking_pool::BlockingPool;
pub use event_bus::EventBus;
pub use outbox_relay::OutboxRelay;
pub use workflow_triggers::TriggerLoop;
pub use workflow_worker::{WorkerConfig, WorkflowWorker, WORK_CHANNEL};
