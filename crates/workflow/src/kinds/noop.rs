//! `noop`: does nothing and succeeds; a join point or a placeholder in a DAG.

use async_trait::async_trait;

use super::{StepCall, StepEnv, StepKind, StepOutcome};

/// The `noop` kind.
pub(super) struct Noop;

#[async_trait]
impl StepKind for Noop {
    fn name(&self) -> &'static str {
        "noop"
    }

    fn pure(&self) -> bool {
        true
    }

    async fn run(&self, _call: StepCall, _env: &StepEnv) -> StepOutcome {
        StepOutcome::Succeeded(serde_json::json!({}))
    }
}
