//! `condition`: evaluates `with.expr`; its output is `{"result": bool}`, and when false its
//! dependents (and theirs) are skipped — early termination of a branch.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::json;
use usvc_core::{StepRun, StepStatus};

use super::{StepCall, StepEnv, StepKind, StepOutcome};
use crate::template;

/// The `condition` kind.
pub(super) struct Condition;

#[async_trait]
impl StepKind for Condition {
    fn name(&self) -> &'static str {
        "condition"
    }

    fn pure(&self) -> bool {
        true
    }

    fn expression_fields(&self) -> &'static [&'static str] {
        &["expr"]
    }

    fn check(&self, with: &BTreeMap<String, serde_json::Value>) -> Vec<(String, String)> {
        match with.get("expr") {
            Some(serde_json::Value::String(_)) => Vec::new(),
            _ => vec![(
                "expr".into(),
                "is required: an expression such as `inputs.n > 10`".into(),
            )],
        }
    }

    /// False closes every dependent: the branch ends here.
    fn lets_through(
        &self,
        _with: &BTreeMap<String, serde_json::Value>,
        ended: &StepRun,
        _dependent: &str,
    ) -> bool {
        !(ended.status == StepStatus::Succeeded
            && ended.output.as_ref().and_then(|o| o.get("result")) == Some(&json!(false)))
    }

    async fn run(&self, call: StepCall, _env: &StepEnv) -> StepOutcome {
        let expr = match call.text("expr") {
            Ok(expr) => expr,
            Err(e) => return StepOutcome::Failed(e),
        };
        match template::holds(expr, &call.context) {
            Ok(result) => StepOutcome::Succeeded(json!({ "result": result })),
            Err(e) => StepOutcome::Failed(format!("`with.expr`: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::tests::{call, no_env};

    #[tokio::test]
    async fn the_result_is_the_expression_s_truth() {
        let ctx = json!({"inputs": {"n": 12}});
        let out = Condition
            .run(
                call(json!({"expr": "inputs.n > 10"}), ctx.clone()),
                &no_env(),
            )
            .await;
        assert_eq!(out, StepOutcome::Succeeded(json!({"result": true})));
        let out = Condition
            .run(call(json!({"expr": "inputs.n > 20"}), ctx), &no_env())
            .await;
        assert_eq!(out, StepOutcome::Succeeded(json!({"result": false})));
        assert!(!Condition.check(&BTreeMap::new()).is_empty());
    }
}
