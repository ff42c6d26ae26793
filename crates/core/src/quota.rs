//! Per-tenant quotas: how much of the shared workflow engine one tenant may take, so that no
//! tenant can starve the others. Every tenant has the defaults; a holder of the platform grant
//! may set any of them for one tenant (`PUT /api/v1/tenants/{id}/quotas`), within the ceilings.

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// The quotas in force for a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantQuotas {
    /// Executions not ended (pending, running, waiting) at once; a start beyond is refused.
    pub running_executions: u32,
    /// Steps running at once (claimed by workers); the claims skip a tenant at its quota.
    pub steps_in_flight: u32,
    /// Executions started per minute (by hand and by triggers).
    pub starts_per_minute: u32,
    /// Executions one event may start (across the tenant's workflows).
    pub starts_per_event: u32,
    /// Steps in one workflow definition.
    pub definition_steps: u32,
    /// The longest step `timeout` (and `http` step `timeout`), in seconds.
    pub step_timeout_secs: u64,
    /// `event` steps in one definition: what one execution may emit (the chain limit bounds
    /// depth, this bounds breadth).
    pub event_steps: u32,
}

impl TenantQuotas {
    /// What every tenant gets unless the platform set otherwise.
    pub const DEFAULT: Self = Self {
        running_executions: 1_000,
        steps_in_flight: 64,
        starts_per_minute: 600,
        starts_per_event: 20,
        definition_steps: 200,
        step_timeout_secs: 86_400,
        event_steps: 20,
    };

    /// The most any tenant may be given.
    pub const CEILING: Self = Self {
        running_executions: 100_000,
        steps_in_flight: 4_096,
        starts_per_minute: 100_000,
        starts_per_event: 1_000,
        definition_steps: 200,
        step_timeout_secs: 366 * 86_400,
        event_steps: 200,
    };
}

impl Default for TenantQuotas {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What the platform set for one tenant: `None` keeps the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaOverrides {
    /// See [`TenantQuotas::running_executions`].
    pub running_executions: Option<u32>,
    /// See [`TenantQuotas::steps_in_flight`].
    pub steps_in_flight: Option<u32>,
    /// See [`TenantQuotas::starts_per_minute`].
    pub starts_per_minute: Option<u32>,
    /// See [`TenantQuotas::starts_per_event`].
    pub starts_per_event: Option<u32>,
    /// See [`TenantQuotas::definition_steps`].
    pub definition_steps: Option<u32>,
    /// See [`TenantQuotas::step_timeout_secs`].
    pub step_timeout_secs: Option<u64>,
    /// See [`TenantQuotas::event_steps`].
    pub event_steps: Option<u32>,
}

impl QuotaOverrides {
    /// The quotas in force: each override, or the default.
    pub fn effective(&self) -> TenantQuotas {
        let d = TenantQuotas::DEFAULT;
        TenantQuotas {
            running_executions: self.running_executions.unwrap_or(d.running_executions),
            steps_in_flight: self.steps_in_flight.unwrap_or(d.steps_in_flight),
            starts_per_minute: self.starts_per_minute.unwrap_or(d.starts_per_minute),
            starts_per_event: self.starts_per_event.unwrap_or(d.starts_per_event),
            definition_steps: self.definition_steps.unwrap_or(d.definition_steps),
            step_timeout_secs: self.step_timeout_secs.unwrap_or(d.step_timeout_secs),
            event_steps: self.event_steps.unwrap_or(d.event_steps),
        }
    }

    /// Each override within 1 (0 for `event_steps`) and its ceiling; every problem at once.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let c = TenantQuotas::CEILING;
        let mut errors = Vec::new();
        let mut check = |field: &str, value: Option<u64>, min: u64, max: u64| {
            if value.is_some_and(|v| !(min..=max).contains(&v)) {
                errors.push(FieldError {
                    field: field.into(),
                    message: format!("must be {min}-{max}"),
                });
            }
        };
        let wide = |v: Option<u32>| v.map(u64::from);
        check(
            "running_executions",
            wide(self.running_executions),
            1,
            c.running_executions.into(),
        );
        check(
            "steps_in_flight",
            wide(self.steps_in_flight),
            1,
            c.steps_in_flight.into(),
        );
        check(
            "starts_per_minute",
            wide(self.starts_per_minute),
            1,
            c.starts_per_minute.into(),
        );
        check(
            "starts_per_event",
            wide(self.starts_per_event),
            1,
            c.starts_per_event.into(),
        );
        check(
            "definition_steps",
            wide(self.definition_steps),
            1,
            c.definition_steps.into(),
        );
        check(
            "step_timeout_secs",
            self.step_timeout_secs,
            1,
            c.step_timeout_secs,
        );
        check(
            "event_steps",
            wide(self.event_steps),
            0,
            c.event_steps.into(),
        );
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_defaults_within_the_ceilings() {
        let set = QuotaOverrides {
            steps_in_flight: Some(8),
            ..QuotaOverrides::default()
        };
        let q = set.effective();
        assert_eq!(q.steps_in_flight, 8);
        assert_eq!(
            q.running_executions,
            TenantQuotas::DEFAULT.running_executions
        );
        assert!(set.validate().is_ok());
        let bad = QuotaOverrides {
            steps_in_flight: Some(0),
            definition_steps: Some(201),
            ..QuotaOverrides::default()
        };
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["steps_in_flight", "definition_steps"]);
    }
}
