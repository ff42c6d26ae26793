//! `transform`: its output is its `with`, rendered — an object built from templates over
//! the inputs and upstream outputs, types kept (`"{{ steps.a.output.n * 2 }}"` is a number).

use async_trait::async_trait;

use super::{StepCall, StepEnv, StepKind, StepOutcome};

/// The `transform` kind.
pub(super) struct Transform;

#[async_trait]
impl StepKind for Transform {
    fn name(&self) -> &'static str {
        "transform"
    }

    fn pure(&self) -> bool {
        true
    }

    async fn run(&self, call: StepCall, _env: &StepEnv) -> StepOutcome {
        StepOutcome::Succeeded(serde_json::Value::Object(call.with))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::kinds::tests::{call, no_env};

    #[tokio::test]
    async fn the_output_is_the_rendered_with() {
        let out = Transform
            .run(call(json!({"v": 14, "s": "x"}), json!({})), &no_env())
            .await;
        assert_eq!(out, StepOutcome::Succeeded(json!({"v": 14, "s": "x"})));
    }
}
