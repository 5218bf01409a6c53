//! Event timestamps: nanoseconds since the Unix epoch, in UTC.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// Parses the timestamp forms logs use: RFC 3339 (`2025-11-27T07:40:10.165324Z`), a date and
/// time without zone (`2025-11-27 07:40:10.132`, read as UTC, as Sysmon's `UtcTime` is), and
/// Unix epoch numbers in seconds, milliseconds, microseconds or nanoseconds.
pub fn parse(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = s.parse::<Timestamp>() {
        return i64::try_from(t.as_nanosecond()).ok();
    }
    if let Ok(dt) = s.parse::<DateTime>() {
        let z = dt.to_zoned(TimeZone::UTC).ok()?;
        return i64::try_from(z.timestamp().as_nanosecond()).ok();
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let f: f64 = s.parse().ok()?;
        let ns = if f < 1e11 {
            f * 1e9
        } else if f < 1e14 {
            f * 1e6
        } else if f < 1e17 {
            f * 1e3
        } else {
            f
        };
        if ns.is_finite() && ns < i64::MAX as f64 {
            return Some(ns as i64);
        }
    }
    None
}

/// Formats as RFC 3339 in UTC with microseconds (`2025-11-27T07:40:10.165324Z`).
pub fn format(ns: i64) -> String {
    match Timestamp::from_nanosecond(ns as i128) {
        Ok(t) => {
            let t = t.round(jiff::Unit::Microsecond).unwrap_or(t);
            format!("{}", t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
        }
        Err(_) => String::new(),
    }
}

/// Converts a `jiff` timestamp (as EVTX records carry) to nanoseconds.
pub fn from_jiff(t: Timestamp) -> Option<i64> {
    i64::try_from(t.as_nanosecond()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let t = parse("2025-11-27T07:40:10.165324Z").unwrap();
        assert_eq!(format(t), "2025-11-27T07:40:10.165324Z");
        assert_eq!(parse("2025-11-27 07:40:10.165324"), Some(t));
        assert_eq!(parse("2025-11-27T09:40:10.165324+02:00"), Some(t));
        assert_eq!(parse("1704067200"), Some(1_704_067_200_000_000_000));
        assert_eq!(parse("1704067200000"), Some(1_704_067_200_000_000_000));
        assert_eq!(parse("nonsense"), None);
        assert_eq!(parse(""), None);
        assert_eq!(format(0), "1970-01-01T00:00:00.000000Z");
    }
}
