//! `delay`: a durable timer. The first attempt parks the step until `now + with.duration`
//! (the deadline kept in the store, so a restart loses nothing); the attempt after it, due
//! at the deadline, succeeds.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound as _, Utc};
use serde_json::json;

use super::{StepCall, StepEnv, StepKind, StepOutcome};
use crate::duration::parse_duration;

/// The `delay` kind.
pub(super) struct Delay;

#[async_trait]
impl StepKind for Delay {
    fn name(&self) -> &'static str {
        "delay"
    }

    fn check(&self, with: &BTreeMap<String, serde_json::Value>) -> Vec<(String, String)> {
        match with.get("duration") {
            Some(serde_json::Value::String(d))
                if d.contains("{{") || parse_duration(d).is_some() =>
            {
                Vec::new()
            }
            _ => vec![(
                "duration".into(),
                "is required: a duration such as `30s`, `5m` or `1h`".into(),
            )],
        }
    }

    async fn run(&self, call: StepCall, _env: &StepEnv) -> StepOutcome {
        let until = call
            .state
            .as_ref()
            .and_then(|s| s.get("until"))
            .and_then(serde_json::Value::as_str)
            .and_then(|u| DateTime::parse_from_rfc3339(u).ok())
            .map(|u| u.with_timezone(&Utc));
        if let Some(until) = until {
            if call.now >= until {
                return StepOutcome::Succeeded(json!({ "waited_until": until.to_rfc3339() }));
            }
            return StepOutcome::Park {
                until: Some(until),
                state: json!({ "until": until.to_rfc3339() }),
            };
        }
        let Ok(Some(duration)) = call.text("duration").map(parse_duration) else {
            return StepOutcome::Failed("`with.duration` must be like `30s`, `5m` or `1h`".into());
        };
        let Ok(duration) = chrono::Duration::from_std(duration) else {
            return StepOutcome::Failed("`with.duration` is too long".into());
        };
        let until = (call.now + duration).trunc_subsecs(6);
        StepOutcome::Park {
            until: Some(until),
            state: json!({ "until": until.to_rfc3339() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::tests::{call, no_env};

    #[tokio::test]
    async fn the_first_attempt_parks_and_the_one_at_the_deadline_succeeds() {
        let first = call(json!({"duration": "1h"}), json!({}));
        let now = first.now;
        let StepOutcome::Park {
            until: Some(until),
            state,
        } = Delay.run(first, &no_env()).await
        else {
            panic!("the first attempt parks")
        };
        assert_eq!(until, (now + chrono::Duration::hours(1)).trunc_subsecs(6));
        let mut early = call(json!({"duration": "1h"}), json!({}));
        early.state = Some(state.clone());
        assert!(matches!(
            Delay.run(early, &no_env()).await,
            StepOutcome::Park { .. }
        ));
        let mut due = call(json!({"duration": "1h"}), json!({}));
        due.state = Some(state);
        due.now = until;
        assert!(matches!(
            Delay.run(due, &no_env()).await,
            StepOutcome::Succeeded(_)
        ));
    }
}
