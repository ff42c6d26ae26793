//! `usvc-workflow`: the workflow domain — versioned DAG definitions, durable executions,
//! workers, step kinds, human tasks, and event and cron triggers.
//!
//! It depends only on `usvc-core`; projects are created through the `ProjectActions` port, never
//! by importing `usvc-project`. So far it holds the definition format and its structural
//! validation (`definition`); storage, the engine, step kinds and triggers follow.

pub mod definition;

pub use definition::{Definition, OnFailure, Step, Trigger, STEP_KINDS};
