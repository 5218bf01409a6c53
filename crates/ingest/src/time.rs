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
    if let Some(t) = parse_utc_fast(s) {
        return Some(t);
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

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the form every EVTX record carries, without the general
/// parser's cost (it runs once per event).
fn parse_utc_fast(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || *b.last()? != b'Z' || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let mut v = 0i64;
        for &c in &b[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + (c - b'0') as i64;
        }
        Some(v)
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut nanos = 0i64;
    let rest = &b[19..b.len() - 1];
    if !rest.is_empty() {
        if rest[0] != b'.' || rest.len() < 2 || rest.len() > 10 {
            return None;
        }
        let digits = &rest[1..];
        let mut v = 0i64;
        for &c in digits {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + (c - b'0') as i64;
        }
        nanos = v * 10i64.pow(9 - digits.len() as u32);
    }
    // Days since 1970-01-01 (proleptic Gregorian).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
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

/// Microseconds since the epoch, rounded as [`format`] rounds, so the number and the text
/// of one time agree.
pub fn micros(ns: i64) -> i64 {
    ns.saturating_add(500).div_euclid(1000)
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
        assert_eq!(format(1_968_669_900), "1970-01-01T00:00:01.968670Z");
        assert_eq!(micros(1_968_669_900), 1_968_670);
        assert_eq!(micros(1_968_669_400), 1_968_669);
        // The fast path agrees with the general parser.
        for s in [
            "2013-10-23T16:22:39.9735000Z",
            "2024-02-29T23:59:59Z",
            "1999-12-31T00:00:00.1Z",
            "2100-03-01T12:34:56.123456789Z",
            "1969-07-20T20:17:40Z",
        ] {
            let general = s.parse::<Timestamp>().unwrap().as_nanosecond() as i64;
            assert_eq!(parse_utc_fast(s), Some(general), "{s}");
        }
        assert_eq!(parse_utc_fast("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_utc_fast("2024-01-01T00:00:00+01:00"), None);
    }
}
