//! `usvc-workflow`: the workflow domain — versioned DAG definitions, durable executions,
//! step kinds, human tasks, and event and cron triggers.
//!
//! It depends only on `usvc-core`. The modules, in the order a newcomer needs them:
//! - `definition`: the format and what a save refuses; `template`: templates and expressions;
//! - `workflows`: saving, versions, pause and resume (`WorkflowService`);
//! - `kinds`: the `StepKind` trait and the built-in kinds, one file each;
//! - `plan`: the execution state machine, pure functions run inside the store's transaction;
//! - `engine`: what a worker does with a claimed step (the loop itself is `usvc-runtime`'s
//!   `WorkflowWorker`);
//! - `executions`: start, read, cancel, retry, timeline (`ExecutionService`);
//! - `tasks`: the human tasks of `approval` steps: list, read, answer (`TaskService`);
//! - `triggers` and `schedule`: executions started by domain events and cron schedules.

pub mod analytics;
pub mod definition;
pub mod duration;
pub mod engine;
pub mod executions;
pub mod kinds;
pub mod plan;
pub mod quotas;
pub mod schedule;
pub mod schema;
pub mod skip;
pub mod subject;
pub mod tasks;
pub mod template;
pub mod triggers;
pub mod workflows;

pub use definition::{Definition, OnFailure, Step, Trigger};
pub use engine::{Engine, EnginePorts, Prepared, VersionKey};
pub use executions::{ExecutionPorts, ExecutionService};
pub use kinds::{Kinds, StepCall, StepEnv, StepKind, StepOutcome, SERVICE_EVENT_PREFIXES};
pub use plan::Finish;
pub use quotas::{QuotaPorts, Quotas};
pub use tasks::{TaskPorts, TaskQuery, TaskService};
pub use triggers::{TriggerPorts, TriggerService};
pub use workflows::{events, WorkflowPorts, WorkflowService};
