//! `event`: emits a domain event of the execution's tenant. `with`: `type` (required; dotted
//! lowercase like `order.shipped`; the service's own types — `user.*`, `project.*`,
//! `workflow.*`, `execution.*`, `task.*`, `tenant.*`, `auth.*`, `session.*` — are refused,
//! so a workflow cannot forge them), `payload` (an object, default `{}`). The event goes
//! through the outbox under an id stable across attempts, so a retried step emits it once;
//! other workflows' event triggers and the event bus see it like any other. The payload gets
//! `workflow_chain`: 1, or one more than the event that started this execution's; past
//! [`MAX_CHAIN`] the step fails, so workflows starting each other stop. The output is
//! `{event_id, type}`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::{json, Value};
use usvc_core::DomainEvent;

use super::{StepCall, StepEnv, StepKind, StepOutcome};

/// The event types the service itself announces (its audit actions and domain events): a
/// workflow may not emit them.
pub const RESERVED: [&str; 13] = [
    "user.",
    "project.",
    "workflow.",
    "execution.",
    "task.",
    "tenant.",
    "auth.",
    "authz.",
    "session.",
    "mfa.",
    "platform.",
    "role.",
    "roles.",
];

/// How many workflow-emitted events may follow one another (an event step of an execution
/// started by a workflow's event, …): a loop through several workflows stops there.
pub const MAX_CHAIN: u64 = 10;

/// The `event` kind.
pub(super) struct Event;

/// Whether `kind` may be emitted by a workflow: dotted lowercase segments (at least two),
/// not one of the service's own; the reason if not.
fn check_type(kind: &str) -> Result<(), String> {
    let segment = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if kind.len() > 100 || kind.split('.').count() < 2 || !kind.split('.').all(segment) {
        return Err("must be dotted lowercase words, like `order.shipped`".into());
    }
    if let Some(prefix) = RESERVED.iter().find(|p| kind.starts_with(**p)) {
        return Err(format!("`{prefix}*` events are the service's own"));
    }
    Ok(())
}

fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

#[async_trait]
impl StepKind for Event {
    fn name(&self) -> &'static str {
        "event"
    }

    fn emits<'w>(&self, with: &'w BTreeMap<String, Value>) -> Option<&'w str> {
        with.get("type").and_then(Value::as_str)
    }

    fn check(&self, with: &BTreeMap<String, Value>) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        match with.get("type") {
            Some(Value::String(kind)) if is_template(kind) => {}
            Some(Value::String(kind)) => {
                if let Err(e) = check_type(kind) {
                    errors.push(("type".into(), e));
                }
            }
            _ => errors.push(("type".into(), "is required: the event type".into())),
        }
        match with.get("payload") {
            None | Some(Value::Object(_)) => {}
            Some(Value::String(s)) if is_template(s) => {}
            Some(_) => errors.push(("payload".into(), "must be an object".into())),
        }
        for field in with
            .keys()
            .filter(|k| !["type", "payload"].contains(&k.as_str()))
        {
            errors.push((field.clone(), "is not one of type, payload".into()));
        }
        errors
    }

    async fn run(&self, call: StepCall, env: &StepEnv) -> StepOutcome {
        let kind = match call.text("type").map(str::trim) {
            Ok(kind) => kind.to_owned(),
            Err(e) => return StepOutcome::Failed(e),
        };
        if let Err(e) = check_type(&kind) {
            return StepOutcome::Failed(format!("`with.type` ({kind}) {e}"));
        }
        let mut payload = match call.with.get("payload") {
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(Value::Object(fields)) => fields.clone(),
            Some(other) => {
                return StepOutcome::Failed(format!(
                    "`with.payload` must render to an object, not {other}"
                ))
            }
        };
        let chain = call
            .context
            .pointer("/inputs/event/payload/workflow_chain")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            + 1;
        if chain > MAX_CHAIN {
            return StepOutcome::Failed(format!(
                "{MAX_CHAIN} workflow events in a row already led here: workflows that start each other stop"
            ));
        }
        payload.insert("workflow_chain".into(), json!(chain));
        let payload = Value::Object(payload);
        let event = DomainEvent {
            id: call.stable_id,
            tenant: call.tenant,
            kind: kind.clone(),
            occurred_at: call.now,
            actor: call.actor,
            payload,
        };
        match env.events.emit(event).await {
            Ok(_) => StepOutcome::Succeeded(json!({
                "event_id": call.stable_id.to_string(),
                "type": kind,
            })),
            Err(e) => StepOutcome::Failed(format!("the event could not be staged: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use usvc_core::ports::MockOutbox;

    use super::*;
    use crate::kinds::tests::{call, no_env};

    #[test]
    fn types_are_dotted_words_and_never_the_services_own() {
        assert_eq!(check_type("order.shipped"), Ok(()));
        assert_eq!(check_type("billing.invoice.paid_v2"), Ok(()));
        for bad in [
            "order",
            "Order.Shipped",
            "order..x",
            "order.",
            "9x.y",
            "order.shipped!",
        ] {
            assert!(check_type(bad).is_err(), "{bad}");
        }
        for forged in [
            "user.created",
            "project.deleted",
            "task.completed",
            "auth.locked_out",
        ] {
            assert!(check_type(forged).unwrap_err().contains("own"), "{forged}");
        }
        let with = |v: Value| -> BTreeMap<String, Value> { serde_json::from_value(v).unwrap() };
        let fields = |v: Value| -> Vec<String> {
            Event.check(&with(v)).into_iter().map(|(f, _)| f).collect()
        };
        assert!(fields(json!({"type": "order.shipped", "payload": {"id": 1}})).is_empty());
        assert!(fields(json!({"type": "{{ inputs.kind }}"})).is_empty());
        assert_eq!(fields(json!({"payload": {}})), ["type"]);
        assert_eq!(fields(json!({"type": "user.created"})), ["type"]);
        assert_eq!(fields(json!({"type": "a.b", "payload": [1]})), ["payload"]);
    }

    #[tokio::test]
    async fn an_attempt_stages_the_event_under_the_steps_stable_id() {
        let c = call(
            json!({"type": "order.shipped", "payload": {"order": 7}}),
            json!({}),
        );
        let (id, tenant) = (c.stable_id, c.tenant);
        let mut outbox = MockOutbox::new();
        outbox
            .expect_emit()
            .withf(move |e| {
                e.id == id
                    && e.tenant == tenant
                    && e.kind == "order.shipped"
                    && e.payload == json!({"order": 7, "workflow_chain": 1})
            })
            .times(1)
            .returning(|_| Ok(true));
        let env = StepEnv {
            events: Arc::new(outbox),
            ..no_env()
        };
        assert_eq!(
            Event.run(c, &env).await,
            StepOutcome::Succeeded(json!({"event_id": id.to_string(), "type": "order.shipped"}))
        );
        let looping = call(
            json!({"type": "order.shipped"}),
            json!({"inputs": {"event": {"payload": {"workflow_chain": MAX_CHAIN}}}}),
        );
        assert!(matches!(
            Event.run(looping, &no_env()).await,
            StepOutcome::Failed(e) if e.contains("stop")
        ));
        let forged = call(json!({"type": "user.created"}), json!({}));
        assert!(matches!(
            Event.run(forged, &no_env()).await,
            StepOutcome::Failed(e) if e.contains("own")
        ));
    }
}
