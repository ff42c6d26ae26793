//! Figures over a tenant's recent executions: counts by status and workflow, success rates,
//! p50/p95 durations per workflow, and the slowest steps. Pure functions over the timings
//! the store returns, so they are tested without a database.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use usvc_core::{ExecutionStatus, ExecutionTiming, StepTiming, WorkflowId};

/// How many of the slowest steps are listed.
pub const SLOWEST: usize = 10;

/// One workflow's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowFigures {
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// Its name.
    pub name: String,
    /// Executions by status.
    pub by_status: BTreeMap<String, u64>,
    /// Succeeded out of those that succeeded or failed (cancelled ones do not count).
    pub success_rate: Option<f64>,
    /// Median start-to-end time of ended executions, in milliseconds.
    pub p50_ms: Option<i64>,
    /// 95th percentile of the same.
    pub p95_ms: Option<i64>,
}

/// One step's figures (over its succeeded runs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepFigures {
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// Its name.
    pub workflow: String,
    /// The step.
    pub step_id: String,
    /// Its kind.
    pub kind: String,
    /// Succeeded runs measured.
    pub runs: u64,
    /// Median duration, first attempt's start to the end, in milliseconds.
    pub p50_ms: i64,
    /// 95th percentile.
    pub p95_ms: i64,
    /// The longest.
    pub max_ms: i64,
}

/// The tenant's workflow figures since a time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowStats {
    /// The start of the window.
    pub since: DateTime<Utc>,
    /// Executions by status, all workflows.
    pub by_status: BTreeMap<String, u64>,
    /// Per workflow, most executions first.
    pub workflows: Vec<WorkflowFigures>,
    /// The steps with the highest p95, slowest first.
    pub slowest_steps: Vec<StepFigures>,
    /// Human tasks open now, and how many of them are past due.
    pub open_tasks: OpenTasks,
}

/// Human tasks waiting for an answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OpenTasks {
    /// Open now.
    pub open: u64,
    /// Open past their due date.
    pub overdue: u64,
}

/// Per workflow: its name, executions by status, durations of those that ended.
type Tally = (String, BTreeMap<String, u64>, Vec<i64>);

/// The value at `q` (0-1) of sorted `values`, by nearest rank.
fn percentile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied()
}

/// Computes the figures.
pub fn compute(
    since: DateTime<Utc>,
    executions: &[ExecutionTiming],
    steps: &[StepTiming],
) -> WorkflowStats {
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut per: HashMap<WorkflowId, Tally> = HashMap::new();
    for e in executions {
        *by_status.entry(e.status.as_str().to_owned()).or_default() += 1;
        let entry = per
            .entry(e.workflow_id)
            .or_insert_with(|| (e.workflow_name.clone(), BTreeMap::new(), Vec::new()));
        *entry.1.entry(e.status.as_str().to_owned()).or_default() += 1;
        if let (Some(end), true) = (e.finished_at, e.status != ExecutionStatus::Cancelled) {
            entry.2.push((end - e.created_at).num_milliseconds());
        }
    }
    let mut workflows: Vec<WorkflowFigures> = per
        .into_iter()
        .map(|(workflow_id, (name, statuses, mut durations))| {
            durations.sort_unstable();
            let ok = statuses.get("succeeded").copied().unwrap_or(0);
            let bad = statuses.get("failed").copied().unwrap_or(0);
            #[allow(clippy::cast_precision_loss)]
            let success_rate = (ok + bad > 0).then(|| ok as f64 / (ok + bad) as f64);
            WorkflowFigures {
                workflow_id,
                name,
                by_status: statuses,
                success_rate,
                p50_ms: percentile(&durations, 0.5),
                p95_ms: percentile(&durations, 0.95),
            }
        })
        .collect();
    workflows.sort_by(|a, b| {
        let total = |w: &WorkflowFigures| w.by_status.values().sum::<u64>();
        total(b).cmp(&total(a)).then_with(|| a.name.cmp(&b.name))
    });
    let names: HashMap<WorkflowId, &str> = workflows
        .iter()
        .map(|w| (w.workflow_id, w.name.as_str()))
        .collect();
    let mut per_step: HashMap<(WorkflowId, &str), (&str, Vec<i64>)> = HashMap::new();
    for s in steps {
        per_step
            .entry((s.workflow_id, s.step_id.as_str()))
            .or_insert_with(|| (s.kind.as_str(), Vec::new()))
            .1
            .push(s.duration_ms);
    }
    let mut slowest_steps: Vec<StepFigures> = per_step
        .into_iter()
        .map(|((workflow_id, step_id), (kind, mut durations))| {
            durations.sort_unstable();
            StepFigures {
                workflow_id,
                workflow: names
                    .get(&workflow_id)
                    .copied()
                    .unwrap_or_default()
                    .to_owned(),
                step_id: step_id.to_owned(),
                kind: kind.to_owned(),
                runs: durations.len() as u64,
                p50_ms: percentile(&durations, 0.5).unwrap_or(0),
                p95_ms: percentile(&durations, 0.95).unwrap_or(0),
                max_ms: durations.last().copied().unwrap_or(0),
            }
        })
        .collect();
    slowest_steps.sort_by(|a, b| {
        b.p95_ms
            .cmp(&a.p95_ms)
            .then_with(|| a.step_id.cmp(&b.step_id))
    });
    slowest_steps.truncate(SLOWEST);
    WorkflowStats {
        since,
        by_status,
        workflows,
        slowest_steps,
        open_tasks: OpenTasks::default(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn rates_percentiles_and_the_slowest_steps() {
        let (a, b) = (WorkflowId::new(), WorkflowId::new());
        let t0 = Utc::now();
        let run = |w, status, ms: Option<i64>| ExecutionTiming {
            workflow_id: w,
            workflow_name: if w == a { "a".into() } else { "b".into() },
            status,
            created_at: t0,
            finished_at: ms.map(|ms| t0 + Duration::milliseconds(ms)),
        };
        let mut executions: Vec<ExecutionTiming> = (1..=19)
            .map(|i| run(a, ExecutionStatus::Succeeded, Some(i * 10)))
            .collect();
        executions.push(run(a, ExecutionStatus::Failed, Some(1000)));
        executions.push(run(b, ExecutionStatus::Running, None));
        executions.push(run(b, ExecutionStatus::Cancelled, Some(5)));
        let step = |id: &str, ms| StepTiming {
            workflow_id: a,
            step_id: id.into(),
            kind: "http".into(),
            duration_ms: ms,
        };
        let steps = vec![
            step("fast", 1),
            step("fast", 3),
            step("slow", 50),
            step("slow", 70),
        ];
        let stats = compute(t0, &executions, &steps);
        assert_eq!(stats.by_status["succeeded"], 19);
        assert_eq!(stats.by_status["running"], 1);
        let first = &stats.workflows[0];
        assert_eq!(first.name, "a", "most executions first");
        assert_eq!(first.success_rate, Some(0.95));
        assert_eq!(first.p50_ms, Some(100));
        assert_eq!(first.p95_ms, Some(190));
        let second = &stats.workflows[1];
        assert_eq!(
            (second.success_rate, second.p50_ms),
            (None, None),
            "nothing ended but a cancel"
        );
        assert_eq!(stats.slowest_steps[0].step_id, "slow");
        assert_eq!(
            (stats.slowest_steps[0].p95_ms, stats.slowest_steps[0].max_ms),
            (70, 70)
        );
        assert_eq!(stats.slowest_steps[1].runs, 2);
    }
}
