//! Event timestamps: nanoseconds since the Unix epoch, in UTC.
//!
//! [`parse`] reads the forms logs use; [`check`] says whether a time is one an event can have.
//! A log writer that puts `0001-01-01` or `9999-12-31` in a time field would otherwise take its
//! event out of every timeline and incident without a word, so formats report such values
//! (see [`TimeError`]) instead of silently leaving the event undated.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use std::fmt;

const NS: i64 = 1_000_000_000;

/// The earliest time an event may have: 1990-01-01T00:00:00Z. No log format dwell reads
/// existed before; a time before it is a damaged or forged value (or a zero FILETIME).
pub const EARLIEST: i64 = 631_152_000 * NS;

/// The first time an event may not have: 2100-01-01T00:00:00Z.
pub const LATEST: i64 = 4_102_444_800 * NS;

/// Why a time field's value is not a usable time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    /// The field is present but empty.
    Empty,
    /// The text is not a date and time in any form dwell reads.
    Unreadable,
    /// A real time, but outside [`EARLIEST`]..[`LATEST`].
    OutOfRange,
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeError::Empty => f.write_str("is empty"),
            TimeError::Unreadable => f.write_str("is not a date and time"),
            TimeError::OutOfRange => {
                f.write_str("is outside the range of event times (1990-01-01 to 2100-01-01)")
            }
        }
    }
}

impl std::error::Error for TimeError {}

/// Parses a time field's text and checks its range (see [`parse`] and [`check`]).
pub fn parse_checked(s: &str) -> Result<i64, TimeError> {
    if s.trim().is_empty() {
        return Err(TimeError::Empty);
    }
    let ns = parse_wide(s).ok_or(TimeError::Unreadable)?;
    i64::try_from(ns)
        .map_err(|_| TimeError::OutOfRange)
        .and_then(check)
}

/// `Ok` when `ns` lies in [`EARLIEST`]..[`LATEST`].
pub fn check(ns: i64) -> Result<i64, TimeError> {
    if (EARLIEST..LATEST).contains(&ns) {
        Ok(ns)
    } else {
        Err(TimeError::OutOfRange)
    }
}

/// Parses the timestamp forms logs use: RFC 3339 (`2025-11-27T07:40:10.165324Z`), a date and
/// time without zone (`2025-11-27 07:40:10.132`, read as UTC, as Sysmon's `UtcTime` is), and
/// Unix epoch numbers in seconds, milliseconds, microseconds or nanoseconds. No range check.
pub fn parse(s: &str) -> Option<i64> {
    parse_wide(s).and_then(|ns| i64::try_from(ns).ok())
}

/// [`parse`], in nanoseconds that may not fit an `i64` (year 1 does not).
fn parse_wide(s: &str) -> Option<i128> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Some(t) = parse_utc_fast(s) {
        return Some(t);
    }
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t.as_nanosecond());
    }
    if let Ok(dt) = s.parse::<DateTime>() {
        let z = dt.to_zoned(TimeZone::UTC).ok()?;
        return Some(z.timestamp().as_nanosecond());
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
            return Some(ns as i128);
        }
    }
    None
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the form every EVTX record carries, without the general
/// parser's cost (it runs once per event).
fn parse_utc_fast(s: &str) -> Option<i128> {
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
    Some(secs as i128 * NS as i128 + nanos as i128)
}

/// The zone times are written in, when not UTC (`--output-timezone`): set once, at start.
static DISPLAY: std::sync::OnceLock<TimeZone> = std::sync::OnceLock::new();

/// Writes every time of this run in `tz` (with its offset) instead of UTC. Times are stored
/// and compared as instants either way; only their text changes. Only the first call counts.
pub fn set_display_zone(tz: TimeZone) {
    let _ = DISPLAY.set(tz);
}

/// Formats as RFC 3339 with microseconds: in UTC (`2025-11-27T07:40:10.165324Z`), or with
/// the offset of the zone [`set_display_zone`] set (`2025-11-27T08:40:10.165324+01:00`).
pub fn format(ns: i64) -> String {
    match Timestamp::from_nanosecond(ns as i128) {
        Ok(t) => {
            let t = t.round(jiff::Unit::Microsecond).unwrap_or(t);
            match DISPLAY.get() {
                None => format!("{}", t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")),
                Some(tz) => format!(
                    "{}",
                    t.to_zoned(tz.clone()).strftime("%Y-%m-%dT%H:%M:%S%.6f%:z")
                ),
            }
        }
        Err(_) => String::new(),
    }
}

/// Microseconds since the epoch, rounded as [`format()`] rounds, so the number and the text
/// of one time agree.
pub fn micros(ns: i64) -> i64 {
    ns.saturating_add(500).div_euclid(1000)
}

/// Parses `30s`, `15m`, `24h`, `7d` (or plain seconds) into nanoseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: i64 = num.parse().ok()?;
    let mult: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(mult)?.checked_mul(NS)
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
            let general = s.parse::<Timestamp>().unwrap().as_nanosecond();
            assert_eq!(parse_utc_fast(s), Some(general), "{s}");
        }
        assert_eq!(parse_utc_fast("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_utc_fast("2024-01-01T00:00:00+01:00"), None);
    }

    #[test]
    fn impossible_times_are_errors() {
        assert_eq!(parse_checked(""), Err(TimeError::Empty));
        assert_eq!(parse_checked("  "), Err(TimeError::Empty));
        assert_eq!(
            parse_checked("2024-13-45T99:99:99Z"),
            Err(TimeError::Unreadable)
        );
        assert!(matches!(
            parse_checked("0001-01-01T00:00:00Z"),
            Err(TimeError::OutOfRange)
        ));
        assert!(matches!(
            parse_checked("1601-01-01T00:00:00.0000000Z"),
            Err(TimeError::OutOfRange)
        ));
        assert!(matches!(
            parse_checked("9999-12-31T23:59:59Z"),
            Err(TimeError::OutOfRange)
        ));
        assert!(matches!(parse_checked("5"), Err(TimeError::OutOfRange)));
        assert_eq!(
            parse_checked("99999999999999999999999"),
            Err(TimeError::Unreadable)
        );
        assert_eq!(
            parse_checked("2024-01-01T00:00:00Z"),
            Ok(1_704_067_200 * NS)
        );
        assert_eq!(parse_checked("1704067200"), Ok(1_704_067_200 * NS));
        assert_eq!(check(EARLIEST), Ok(EARLIEST));
        assert!(check(LATEST).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(90_000_000_000));
        assert_eq!(parse_duration("30m"), Some(1_800_000_000_000));
        assert_eq!(parse_duration("24h"), Some(86_400_000_000_000));
        assert_eq!(parse_duration("7d"), Some(604_800_000_000_000));
        assert_eq!(parse_duration("7w"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("99999999999999999d"), None);
    }
}
