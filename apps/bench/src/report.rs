//! Turning measurements into a table or JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::load::{Measured, Plan, Results};

/// Figures of one scenario.
#[derive(Debug, Serialize)]
pub struct Line {
    pub(crate) scenario: &'static str,
    requests: u64,
    pub(crate) errors: u64,
    pub(crate) throughput_rps: f64,
    pub(crate) p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Errors by kind (`"502"`, `"503 retry-after"`, `"transport"`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) failures: BTreeMap<String, u64>,
    /// Seconds into the measurement of the first and the last error.
    #[serde(skip_serializing_if = "Option::is_none")]
    first_failure_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_failure_s: Option<f64>,
    /// Writes the server acknowledged (listed in full by `--acknowledged`).
    acknowledged_writes: usize,
}

/// Scenario relative to baseline.
#[derive(Debug, Serialize)]
pub struct Ratio {
    /// Scenario throughput / baseline throughput.
    throughput: f64,
    /// Scenario p50 / baseline p50.
    p50: f64,
    /// Scenario p99 / baseline p99.
    p99: f64,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    connections: usize,
    seconds: f64,
    pub(crate) lines: Vec<Line>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ratio_to_baseline: Option<Ratio>,
}

#[allow(clippy::cast_precision_loss)]
fn line(name: &'static str, m: &Measured, seconds: f64) -> Line {
    let ms = |micros: u64| micros as f64 / 1000.0;
    let requests = m.latencies.len();
    Line {
        scenario: name,
        requests,
        errors: m.errors,
        throughput_rps: if seconds > 0.0 {
            requests as f64 / seconds
        } else {
            0.0
        },
        p50_ms: ms(m.latencies.value_at_quantile(0.50)),
        p95_ms: ms(m.latencies.value_at_quantile(0.95)),
        p99_ms: ms(m.latencies.value_at_quantile(0.99)),
        max_ms: ms(m.latencies.max()),
        failures: m.failures.clone(),
        first_failure_s: m.failure_window.map(|w| w.0),
        last_failure_s: m.failure_window.map(|w| w.1),
        acknowledged_writes: m.acknowledged.len(),
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

impl Report {
    /// Summarises a run.
    pub fn new(plan: &Plan, results: &Results) -> Self {
        let seconds = results.elapsed.as_secs_f64();
        // With a baseline the two alternate in equal time slices: each had half the time.
        let share = if plan.baseline.is_some() {
            seconds / 2.0
        } else {
            seconds
        };
        let mut lines = vec![line(plan.scenario.name, &results.scenario, share)];
        if let (Some(b), Some(m)) = (plan.baseline, &results.baseline) {
            lines.push(line(b.name, m, share));
        }
        let ratio_to_baseline = (lines.len() == 2).then(|| Ratio {
            throughput: ratio(lines[0].throughput_rps, lines[1].throughput_rps),
            p50: ratio(lines[0].p50_ms, lines[1].p50_ms),
            p99: ratio(lines[0].p99_ms, lines[1].p99_ms),
        });
        Self {
            connections: plan.connections,
            seconds,
            lines,
            ratio_to_baseline,
        }
    }

    /// A fixed-width table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} connections, {:.1} s measured",
            self.connections, self.seconds
        );
        let _ = writeln!(
            out,
            "{:<18} {:>9} {:>7} {:>11} {:>9} {:>9} {:>9} {:>9}",
            "scenario", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"
        );
        for l in &self.lines {
            let _ = writeln!(
                out,
                "{:<18} {:>9} {:>7} {:>11.0} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
                l.scenario,
                l.requests,
                l.errors,
                l.throughput_rps,
                l.p50_ms,
                l.p95_ms,
                l.p99_ms,
                l.max_ms
            );
        }
        for l in self.lines.iter().filter(|l| !l.failures.is_empty()) {
            let kinds: Vec<String> = l
                .failures
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            let _ = writeln!(
                out,
                "{} errors: {} (from {:.1} s to {:.1} s)",
                l.scenario,
                kinds.join(", "),
                l.first_failure_s.unwrap_or_default(),
                l.last_failure_s.unwrap_or_default()
            );
        }
        if let Some(r) = &self.ratio_to_baseline {
            let _ = writeln!(
                out,
                "ratio to baseline: throughput {:.3}, p50 {:.3}, p99 {:.3}",
                r.throughput, r.p50, r.p99
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hdrhistogram::Histogram;

    use super::*;
    use crate::load::{Target, SLICE};
    use crate::scenarios;

    fn measured(latencies_us: &[u64], errors: u64) -> Measured {
        let mut h = Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram");
        for l in latencies_us {
            h.record(*l).expect("record");
        }
        let mut m = Measured::new().expect("measured");
        m.latencies = h;
        for _ in 0..errors {
            m.fail("502".into(), 1.0);
        }
        m
    }

    #[test]
    fn with_a_baseline_each_scenario_gets_half_the_time_and_a_ratio() {
        let plan = Plan {
            target: Target::parse("http://127.0.0.1:8008").expect("target"),
            scenario: scenarios::find("health").expect("scenario"),
            baseline: Some(scenarios::find("health-live").expect("baseline")),
            connections: 4,
            duration: Duration::from_secs(10),
            requests: None,
            warmup: Duration::ZERO,
            credentials: scenarios::Credentials {
                tenant: "default".into(),
                email: "a@example.com".into(),
                password: "p".into(),
            },
            database_url: None,
            bearer: None,
        };
        let results = Results {
            scenario: measured(&[2000; 100], 1),
            baseline: Some(measured(&[500; 400], 0)),
            elapsed: Duration::from_secs(10),
        };
        let report = Report::new(&plan, &results);
        assert!(
            (report.lines[0].throughput_rps - 20.0).abs() < 1e-9,
            "100 in 5 s"
        );
        assert!(
            (report.lines[1].throughput_rps - 80.0).abs() < 1e-9,
            "400 in 5 s"
        );
        assert_eq!(report.lines[0].errors, 1);
        assert!(report
            .table()
            .contains("health errors: 502: 1 (from 1.0 s to 1.0 s)"));
        let ratio = report.ratio_to_baseline.as_ref().expect("ratio");
        assert!((ratio.throughput - 0.25).abs() < 1e-9);
        assert!((ratio.p50 - 4.0).abs() < 0.01);
        assert!(report
            .table()
            .contains("ratio to baseline: throughput 0.250"));
        assert_eq!(SLICE, Duration::from_millis(250));
    }
}
