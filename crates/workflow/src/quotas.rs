//! Tenant quotas where the workflow engine applies them (the steps-in-flight quota is the
//! store's, at claim time: `ExecutionRepository::claim`).
//!
//! - **At save**: steps per definition, the longest step and `http` timeout, and how many
//!   `event` steps one definition has (what one execution may emit: the chain limit bounds how
//!   deep workflows may start each other, this bounds how wide).
//! - **At every start** (by hand or by a trigger): executions not ended, and starts in the
//!   current minute. A start beyond is refused with `429 quota_exceeded` (by hand) or skipped
//!   and logged (triggers, which have nobody to answer).
//! - **Per event**: how many executions one event may start across the tenant's workflows.
//!
//! Quotas are read through the `tenant-quotas` cache (a minute, dropped on every change).

use std::sync::Arc;

use chrono::{DateTime, Timelike, Utc};
use usvc_core::ports::{Cache, ExecutionRepository, QuotaRepository, RateLimiter};
use usvc_core::{CoreError, FieldError, TenantId, TenantQuotas};

use crate::definition::{parse_duration, Definition};

/// What the quota checks read.
pub struct QuotaPorts {
    /// The quotas the platform set.
    pub quotas: Arc<dyn QuotaRepository>,
    /// `tenant-quotas`: the quotas in force by tenant.
    pub cache: Arc<dyn Cache<TenantId, TenantQuotas>>,
    /// Executions, for the count of those not ended.
    pub executions: Arc<dyn ExecutionRepository>,
    /// Counts starts per tenant and minute (shared by every replica).
    pub starts: Arc<dyn RateLimiter>,
}

/// The quota checks of the workflow engine.
pub struct Quotas {
    ports: QuotaPorts,
}

impl Quotas {
    /// Checks over `ports`.
    pub fn new(ports: QuotaPorts) -> Self {
        Self { ports }
    }

    /// The quotas in force for `tenant`.
    pub async fn of(&self, tenant: TenantId) -> Result<TenantQuotas, CoreError> {
        let repo = self.ports.quotas.clone();
        self.ports
            .cache
            .get_or_load(
                tenant,
                Box::pin(async move { Ok(repo.get(tenant).await?.effective()) }),
            )
            .await
    }

    /// Drops `tenant`'s cached quotas (after the platform changed them), on every replica.
    pub async fn forget(&self, tenant: TenantId) -> Result<(), CoreError> {
        self.ports.cache.invalidate(&tenant).await
    }

    /// Refuses a definition past the tenant's quotas (each problem with its field).
    pub async fn check_definition(
        &self,
        tenant: TenantId,
        definition: &Definition,
    ) -> Result<(), CoreError> {
        let errors = definition_problems(&self.of(tenant).await?, definition);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(CoreError::Validation(errors))
        }
    }

    /// Admits one more execution for `tenant` at `now`, or says which quota is used up.
    pub async fn admit_start(&self, tenant: TenantId, now: DateTime<Utc>) -> Result<(), CoreError> {
        let quotas = self.of(tenant).await?;
        let live = self.ports.executions.live_count(tenant).await?;
        if live >= u64::from(quotas.running_executions) {
            return Err(CoreError::QuotaExceeded {
                detail: format!(
                    "the tenant has {live} executions not ended; its quota is {}",
                    quotas.running_executions
                ),
                retry_after_secs: 5,
            });
        }
        let minute = now
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(now);
        let started = self
            .ports
            .starts
            .hit(
                format!("workflow-starts:{tenant}"),
                minute,
                minute - chrono::Duration::minutes(2),
            )
            .await?;
        if started > quotas.starts_per_minute {
            let left = 60 - u64::from(now.second());
            return Err(CoreError::QuotaExceeded {
                detail: format!(
                    "the tenant started {} executions this minute; its quota is {}",
                    started - 1,
                    quotas.starts_per_minute
                ),
                retry_after_secs: left.max(1),
            });
        }
        Ok(())
    }
}

/// What in `definition` goes past `quotas`, each with its field.
pub fn definition_problems(quotas: &TenantQuotas, definition: &Definition) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let steps = u32::try_from(definition.steps.len()).unwrap_or(u32::MAX);
    if steps > quotas.definition_steps {
        errors.push(FieldError {
            field: "steps".into(),
            message: format!(
                "holds {steps} steps; the tenant's quota is {}",
                quotas.definition_steps
            ),
        });
    }
    let longest = std::time::Duration::from_secs(quotas.step_timeout_secs);
    let too_long = |text: Option<&str>| text.and_then(parse_duration).is_some_and(|d| d > longest);
    let mut event_steps = 0u32;
    for (i, step) in definition.steps.iter().enumerate() {
        if too_long(step.timeout.as_deref()) {
            errors.push(FieldError {
                field: format!("steps[{i}].timeout"),
                message: format!(
                    "is longer than the tenant's quota of {} s",
                    quotas.step_timeout_secs
                ),
            });
        }
        if step.kind == "http"
            && too_long(step.with.get("timeout").and_then(serde_json::Value::as_str))
        {
            errors.push(FieldError {
                field: format!("steps[{i}].with.timeout"),
                message: format!(
                    "is longer than the tenant's quota of {} s",
                    quotas.step_timeout_secs
                ),
            });
        }
        event_steps += u32::from(step.kind == "event");
    }
    if event_steps > quotas.event_steps {
        errors.push(FieldError {
            field: "steps".into(),
            message: format!(
                "holds {event_steps} event steps; the tenant's quota is {}",
                quotas.event_steps
            ),
        });
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn definition(steps: &serde_json::Value) -> Definition {
        Definition::from_document(json!({"name": "q", "steps": steps})).unwrap()
    }

    #[test]
    fn definitions_past_the_quotas_name_each_field() {
        let tight = TenantQuotas {
            definition_steps: 2,
            step_timeout_secs: 60,
            event_steps: 1,
            ..TenantQuotas::DEFAULT
        };
        let d = definition(&json!([
            {"id": "a", "kind": "noop", "timeout": "2m"},
            {"id": "b", "kind": "http", "with": {"url": "https://example.com", "timeout": "5m"}},
            {"id": "c", "kind": "event", "with": {"type": "order.one"}},
            {"id": "d", "kind": "event", "with": {"type": "order.two"}},
        ]));
        let fields: Vec<String> = definition_problems(&tight, &d)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "steps",
                "steps[0].timeout",
                "steps[1].with.timeout",
                "steps"
            ]
        );
        assert!(definition_problems(&TenantQuotas::DEFAULT, &d).is_empty());
    }
}
