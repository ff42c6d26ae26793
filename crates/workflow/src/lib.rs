//! `usvc-workflow`: the workflow domain — versioned DAG definitions, durable executions,
//! workers, step kinds, human tasks, and event and cron triggers.
//!
//! It depends only on `usvc-core`; projects are created through the `ProjectActions` port, never
//! by importing `usvc-project`. The engine arrives with the workflow issue; the crate exists now
//! so the workspace has its final shape and the dependency rule is checked from the start.
