//! Event and schedule triggers: what starts executions besides a person.
//!
//! - **Events** come from the transactional outbox, so an event committed with its change is
//!   never lost: the loop reads the events it has not looked at, starts the matching active
//!   workflows whose `filter` holds (inputs: `{"event": …}`), and marks the events in the
//!   same transaction. Each start is keyed `event:<event id>` per workflow, so a repeat (a
//!   crash before the mark, another replica) starts nothing.
//! - **Schedules** keep their next tick in the store. The loop fires each due tick with a
//!   compare-and-set on it, in the transaction that starts the execution (inputs:
//!   `{"schedule": {"tick", "cron", "timezone"}}`, key `schedule:<position>:<tick>`): of
//!   several replicas, one fires. Ticks missed while no process ran fire once, then the
//!   schedule moves on from now.
//!
//! Paused and deleted workflows and disabled tenants start nothing, checked again under the
//! workflow's lock when starting (a pause racing a pass wins); events from before a trigger
//! was live (created, resumed) start nothing. A schedule whose definition cannot be read is
//! logged and skipped; an event batch that meets one is retried, never dropped.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;
use usvc_core::ports::{offload, Acting, ActingAccess, TriggerRepository, WorkSignal};
use usvc_core::{ActiveTrigger, CoreError, DomainEvent, TriggeredStart};

use crate::definition::{Definition, Trigger};
use crate::engine::Engine;
use crate::plan::{initial, new_execution, Starter};
use crate::schedule::Schedule;
use crate::subject;
use crate::template;

/// Events read per pass.
const EVENT_BATCH: u32 = 200;
/// Event batches per pass at most (schedules are not held back by a backlog).
const EVENT_BATCHES_PER_PASS: usize = 5;
/// Schedules fired per pass.
const SCHEDULE_BATCH: u32 = 100;

/// The ports [`TriggerService`] needs.
pub struct TriggerPorts {
    /// The trigger index, the outbox, keyed starts.
    pub triggers: Arc<dyn TriggerRepository>,
    /// Pinned definitions and the clock.
    pub engine: Arc<Engine>,
    /// Wakes the workers after a start.
    pub signal: Arc<dyn WorkSignal>,
    /// The tenants' quotas (starts per event, per minute, executions not ended).
    pub quotas: Arc<crate::quotas::Quotas>,
    /// What a workflow's saver may read now (an event starts only their workflows that may).
    pub access: Arc<dyn ActingAccess>,
}

/// Runs the triggers; `usvc_runtime::TriggerLoop` calls [`TriggerService::run_once`] in a loop.
pub struct TriggerService {
    ports: TriggerPorts,
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Events looked at.
    pub events: usize,
    /// Executions started (by events and schedules).
    pub started: u64,
    /// Schedule ticks fired or planned by this process.
    pub ticks: usize,
    /// Whether the pass stopped at its limit with events still pending (run another soon).
    pub more: bool,
}

/// The event as a template sees it (`event.type`, `event.payload.name`, …).
fn event_json(event: &DomainEvent) -> serde_json::Value {
    json!({
        "id": event.id.to_string(),
        "type": event.kind,
        "occurred_at": event.occurred_at.to_rfc3339(),
        "actor": event.actor.map(|a| a.to_string()),
        "payload": event.payload,
    })
}

impl TriggerService {
    /// A service over `ports`.
    pub fn new(ports: TriggerPorts) -> Self {
        Self { ports }
    }

    /// Now, by the engine's clock (when the next tick is due is measured from it).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.ports.engine.now()
    }

    /// One pass: pending events (a few batches), then every due schedule, whatever the
    /// events did. The first store error is returned after both ran.
    pub async fn run_once(&self) -> Result<Pass, CoreError> {
        let mut pass = Pass::default();
        let mut failed = None;
        for batch in 0..EVENT_BATCHES_PER_PASS {
            match self.events().await {
                Ok((events, started)) => {
                    pass.events += events;
                    pass.started += started;
                    if events < EVENT_BATCH as usize {
                        break;
                    }
                    pass.more = batch + 1 == EVENT_BATCHES_PER_PASS;
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        match self.schedules().await {
            Ok((ticks, started)) => {
                pass.ticks = ticks;
                pass.started += started;
            }
            Err(e) => failed = failed.or(Some(e)),
        }
        if pass.started > 0 {
            self.ports.signal.wake();
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(pass),
        }
    }

    /// When the next planned tick is (the loop sleeps until then at most).
    pub async fn next_tick(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, CoreError> {
        self.ports.triggers.next_tick().await
    }

    /// One batch of events: how many were looked at, how many executions started.
    async fn events(&self) -> Result<(usize, u64), CoreError> {
        let events = self.ports.triggers.pending_events(EVENT_BATCH).await?;
        if events.is_empty() {
            return Ok((0, 0));
        }
        let tenants: BTreeSet<_> = events.iter().map(|e| e.tenant).collect();
        let kinds: BTreeSet<_> = events.iter().map(|e| e.kind.clone()).collect();
        let triggers = self
            .ports
            .triggers
            .event_triggers(tenants.into_iter().collect(), kinds.into_iter().collect())
            .await?;
        let mut starts = Vec::new();
        let mut savers = subject::SaverAccess::new(self.ports.access.as_ref());
        for event in &events {
            let mut started_here = BTreeSet::new();
            let per_event = self.ports.quotas.of(event.tenant).await?.starts_per_event;
            for trigger in triggers.iter().filter(|t| {
                t.tenant_id == event.tenant
                    && t.event.as_deref() == Some(&event.kind)
                    && event.occurred_at >= t.active_since
            }) {
                // One execution per workflow and event, however many of its triggers match.
                if started_here.contains(&trigger.workflow_id) {
                    continue;
                }
                if started_here.len() >= usize::try_from(per_event).unwrap_or(usize::MAX) {
                    tracing::warn!(event = %event.id, tenant = %event.tenant, quota = per_event,
                        "an event would start more executions than the tenant's quota; the rest start nothing");
                    break;
                }
                if let Some(start) = self.for_event(trigger, event, &mut savers).await? {
                    started_here.insert(trigger.workflow_id);
                    starts.push(start);
                }
            }
        }
        let ids = events.iter().map(|e| e.id).collect();
        let started = self
            .ports
            .triggers
            .start_for_events(starts, ids, self.ports.engine.now())
            .await?;
        Ok((events.len(), started))
    }

    /// The execution `event` starts through `trigger`, if its filter holds and the inputs
    /// fit the workflow's schema.
    async fn for_event(
        &self,
        trigger: &ActiveTrigger,
        event: &DomainEvent,
        savers: &mut subject::SaverAccess<'_>,
    ) -> Result<Option<TriggeredStart>, CoreError> {
        // A definition that cannot be read fails the batch (retried next pass, the events
        // unmarked): an event is never dropped for a store hiccup.
        let definition = self.definition(trigger).await?;
        let Some(Trigger::Event { filter, .. }) = position(&definition, trigger) else {
            return Ok(None);
        };
        // An event starts only workflows whose saver still holds `audit:read` and may read
        // what it describes (a private project's events stay with its members, user events
        // with the users' readers).
        let may = match definition.saved_by {
            Some(user) => {
                let saver = Acting {
                    tenant: trigger.tenant_id,
                    user,
                };
                savers.may_start(saver, &event.kind, &event.payload).await?
            }
            None => subject::of_event(&event.kind, &event.payload).is_none(),
        };
        if !may {
            tracing::debug!(workflow = %trigger.workflow_id, event = %event.id,
                "the workflow's saver may not read the events or what this one describes; it starts nothing");
            return Ok(None);
        }
        let seen = json!({ "event": event_json(event) });
        if let Some(filter) = filter.clone() {
            // A tenant template (up to 250 ms of CPU): off the runtime threads.
            let context = seen.clone();
            let holds = offload(self.ports.engine.offload(), move || {
                Ok(template::holds(&filter, &context))
            })
            .await?;
            match holds {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(e) => {
                    tracing::warn!(workflow = %trigger.workflow_id, event = %event.id, error = %e,
                        "an event trigger's filter failed; the event starts nothing");
                    return Ok(None);
                }
            }
        }
        if !self.admitted(trigger, "event").await? {
            return Ok(None);
        }
        Ok(self.start(
            trigger,
            &definition,
            seen,
            "event",
            format!("event:{}", event.id),
        ))
    }

    /// Fires or plans every due schedule: how many this process moved, how many started.
    async fn schedules(&self) -> Result<(usize, u64), CoreError> {
        let now = self.ports.engine.now();
        let due = self
            .ports
            .triggers
            .due_schedules(now, SCHEDULE_BATCH)
            .await?;
        let (mut ticks, mut started) = (0, 0);
        for trigger in due {
            let definition = match self.definition(&trigger).await {
                Ok(definition) => definition,
                Err(e) => {
                    // One schedule that cannot be read does not hold back the others.
                    tracing::warn!(workflow = %trigger.workflow_id, error = %e,
                        "a schedule's workflow definition cannot be read; skipped");
                    continue;
                }
            };
            let Some(Trigger::Schedule { cron, timezone }) = position(&definition, &trigger) else {
                continue;
            };
            let Ok(schedule) = Schedule::parse(cron, timezone.as_deref()) else {
                continue; // refused at save
            };
            let admitted =
                trigger.next_fire_at.is_none() || self.admitted(&trigger, "schedule").await?;
            let start = trigger.next_fire_at.filter(|_| admitted).and_then(|tick| {
                let inputs = json!({"schedule": {
                    "tick": tick.to_rfc3339(), "cron": cron, "timezone": timezone.as_deref().unwrap_or("UTC"),
                }});
                self.start(
                    &trigger,
                    &definition,
                    inputs,
                    "schedule",
                    format!("schedule:{}:{}", trigger.position, tick.to_rfc3339()),
                )
            });
            // The next tick after now: ticks missed while nothing ran fire once, here.
            let next = schedule.next_after(now);
            let (moved, fired) = self.ports.triggers.fire(trigger, next, start).await?;
            ticks += usize::from(moved);
            started += u64::from(fired);
        }
        Ok((ticks, started))
    }

    /// Whether the tenant's quotas admit one more execution; a refusal is logged (a trigger has
    /// nobody to answer) and the start skipped.
    async fn admitted(&self, trigger: &ActiveTrigger, kind: &str) -> Result<bool, CoreError> {
        match self
            .ports
            .quotas
            .admit_start(trigger.tenant_id, self.ports.engine.now())
            .await
        {
            Ok(()) => Ok(true),
            Err(CoreError::QuotaExceeded { detail, .. }) => {
                tracing::warn!(workflow = %trigger.workflow_id, trigger = kind, %detail,
                    "a trigger's start is past the tenant's quota; nothing started");
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    async fn definition(&self, trigger: &ActiveTrigger) -> Result<Arc<Definition>, CoreError> {
        self.ports
            .engine
            .definition(trigger.tenant_id, trigger.workflow_id, trigger.version)
            .await
    }

    /// A new execution of `trigger`'s workflow with `inputs`, unless they do not fit its
    /// `inputs` schema (logged: a trigger has no caller to answer).
    fn start(
        &self,
        trigger: &ActiveTrigger,
        definition: &Definition,
        inputs: serde_json::Value,
        kind: &'static str,
        key: String,
    ) -> Option<TriggeredStart> {
        if let Err(e) = definition.check_inputs(&inputs) {
            tracing::warn!(workflow = %trigger.workflow_id, trigger = kind, error = %e,
                "a trigger's inputs do not match the workflow's inputs schema; nothing started");
            return None;
        }
        let now = self.ports.engine.now();
        let starter = Starter {
            trigger: kind,
            user: None,
        };
        let execution = match new_execution(
            definition,
            (trigger.tenant_id, trigger.workflow_id, trigger.version),
            inputs,
            &starter,
            now,
        ) {
            Ok(execution) => execution,
            Err(e) => {
                tracing::warn!(workflow = %trigger.workflow_id, trigger = kind, error = %e,
                    "a trigger's execution cannot be built; nothing started");
                return None;
            }
        };
        Some(TriggeredStart {
            key,
            state: initial(definition, execution, now),
        })
    }
}

/// The trigger at `trigger`'s position in `definition`.
fn position<'a>(definition: &'a Definition, trigger: &ActiveTrigger) -> Option<&'a Trigger> {
    usize::try_from(trigger.position)
        .ok()
        .and_then(|i| definition.triggers.get(i))
}
