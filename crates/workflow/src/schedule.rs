//! Cron schedules of `schedule` triggers: five-field cron expressions (croner) read in an
//! IANA time zone (chrono-tz), so `0 9 * * 1-5` in `Europe/Paris` fires at 09:00 Paris time
//! across daylight-saving changes.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;

/// The longest cron expression accepted.
pub const MAX_CRON_LEN: usize = 100;

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    zone: Tz,
}

impl Schedule {
    /// Parses `cron` (five fields: minute, hour, day of month, month, day of week) in
    /// `timezone` (UTC when absent); the error says which part is wrong.
    pub fn parse(cron: &str, timezone: Option<&str>) -> Result<Self, (&'static str, String)> {
        let zone = match timezone {
            None => Tz::UTC,
            Some(name) => Tz::from_str(name).map_err(|_| {
                (
                    "timezone",
                    format!("`{name}` is not an IANA time zone (like `Europe/Paris`)"),
                )
            })?,
        };
        if cron.len() > MAX_CRON_LEN {
            return Err(("cron", format!("must be at most {MAX_CRON_LEN} characters")));
        }
        if cron.split_whitespace().count() != 5 {
            return Err((
                "cron",
                "must have five fields: minute hour day-of-month month day-of-week".into(),
            ));
        }
        let cron = Cron::new(cron)
            .parse()
            .map_err(|e| ("cron", format!("is not a cron expression: {e}")))?;
        let schedule = Self { cron, zone };
        // Cron has no years: what fires once fires forever, so one search from a fixed point
        // tells. (A schedule that never fires would also cost each search up to year 5000.)
        if schedule.next_after(DateTime::UNIX_EPOCH).is_none() {
            return Err(("cron", "never fires (no such date)".into()));
        }
        Ok(schedule)
    }

    /// The first tick strictly after `after`, if the expression ever fires again.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&after.with_timezone(&self.zone), false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn ticks_follow_the_time_zone_across_daylight_saving() {
        let paris = Schedule::parse("0 9 * * *", Some("Europe/Paris")).unwrap();
        // Winter: UTC+1; summer (from 29 March 2026): UTC+2.
        assert_eq!(
            paris.next_after(at("2026-01-10T12:00:00Z")),
            Some(at("2026-01-11T08:00:00Z"))
        );
        assert_eq!(
            paris.next_after(at("2026-04-10T12:00:00Z")),
            Some(at("2026-04-11T07:00:00Z"))
        );
        let utc = Schedule::parse("*/15 * * * *", None).unwrap();
        assert_eq!(
            utc.next_after(at("2026-01-10T12:00:00Z")),
            Some(at("2026-01-10T12:15:00Z")),
            "strictly after"
        );
    }

    #[test]
    fn expressions_that_never_fire_or_run_long_are_refused() {
        for never in ["0 0 30 2 *", "0 0 31 4,6,9,11 *"] {
            let err = Schedule::parse(never, None).unwrap_err();
            assert_eq!(err.0, "cron");
            assert!(err.1.contains("never fires"), "{never}: {}", err.1);
        }
        assert!(
            Schedule::parse("0 0 29 2 *", None).is_ok(),
            "every leap year"
        );
        let long = format!("{} * * * *", vec!["1"; 100].join(","));
        assert!(Schedule::parse(&long, None)
            .unwrap_err()
            .1
            .contains("characters"));
    }

    #[test]
    fn bad_expressions_and_zones_are_named() {
        assert_eq!(Schedule::parse("0 9 * *", None).unwrap_err().0, "cron");
        assert_eq!(Schedule::parse("0 9 * * * *", None).unwrap_err().0, "cron");
        assert_eq!(Schedule::parse("61 9 * * *", None).unwrap_err().0, "cron");
        assert_eq!(
            Schedule::parse("0 9 * * *", Some("Mars/Olympus"))
                .unwrap_err()
                .0,
            "timezone"
        );
    }
}
