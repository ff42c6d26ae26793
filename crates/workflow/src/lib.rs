//! `usvc-workflow`: the workflow domain — versioned DAG definitions, durable executions,
//! workers, step kinds, human tasks, and event and cron triggers.
//!
//! It depends only on `usvc-core`; projects are created through the `ProjectActions` port, never
//! by importing `usvc-project`. So far it holds the definition format and its structural
//! validation (`definition`) and its templates and expressions (`template`); storage, the engine, step kinds and triggers follow.

pub mod definition;
pub mod kinds;
pub mod plan;
pub mod template;
pub mod workflows;

pub use definition::{Definition, OnFailure, Step, Trigger};
pub use kinds::{Kinds, StepCall, StepKind, StepOutcome};
pub use workflows::{events, WorkflowPorts, WorkflowService};
