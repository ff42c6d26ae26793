//! Durations as workflow definitions write them (`30s`, `5m`, `1d`): in retry back-offs,
//! timeouts, delays and approval deadlines.

/// The longest duration the format accepts (a year): timers, timeouts and backoffs stay far
/// from the calendar's end, whatever a template renders.
const MAX_DURATION_MS: u64 = 366 * 86_400_000;

/// A duration as the format writes it: a whole number and `ms`, `s`, `m`, `h` or `d`, at most
/// a year.
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let ms = match unit {
        "ms" => n,
        "s" => n.checked_mul(1_000)?,
        "m" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        "d" => n.checked_mul(86_400_000)?,
        _ => return None,
    };
    (ms > 0 && ms <= MAX_DURATION_MS).then(|| std::time::Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn whole_numbers_with_a_unit_up_to_a_year() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(
            parse_duration("366d"),
            Some(Duration::from_secs(366 * 86_400))
        );
        for bad in [
            "",
            "0s",
            "1.5s",
            "-1s",
            "10",
            "s",
            "367d",
            "1w",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
