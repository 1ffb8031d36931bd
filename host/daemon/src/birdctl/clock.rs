//! BIRD 1.6's default time formats, in UTC (calico-node runs in a UTC
//! container, and no time zone database is needed).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// BIRD switches protocol and route times from `%T` to `%F` once they
/// are this old (its `timeformat` default limit of 20 hours).
const SHORT_FORMAT_LIMIT: Duration = Duration::from_secs(20 * 3600);

/// `%F %T`, BIRD's format for `show status` times.
pub fn long(t: SystemTime) -> String {
    let (date, time) = parts(t);
    format!("{date} {time}")
}

/// `%T` within 20 hours of `now`, `%F` before that: the format of the
/// since column and of route times. Never contains a space, which
/// Calico's column splitting relies on.
pub fn short(t: SystemTime, now: SystemTime) -> String {
    let old = now
        .duration_since(t)
        .is_ok_and(|age| age >= SHORT_FORMAT_LIMIT);
    let (date, time) = parts(t);
    if old { date } else { time }
}

fn parts(t: SystemTime) -> (String, String) {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic
/// Gregorian calendar (Howard Hinnant's days-to-civil algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn long_format_is_iso_date_and_time() {
        assert_eq!(long(at(0)), "1970-01-01 00:00:00");
        assert_eq!(long(at(1_709_210_096)), "2024-02-29 12:34:56");
    }

    #[test]
    fn short_format_is_the_time_within_twenty_hours_and_the_date_after() {
        let now = at(1_709_210_096);
        assert_eq!(short(at(1_709_210_096 - 3600), now), "11:34:56");
        assert_eq!(short(at(1_709_210_096 - 20 * 3600), now), "2024-02-28");
        // A time after `now` (clock skew) still formats as a time.
        assert_eq!(short(at(1_709_210_097), now), "12:34:57");
    }
}
