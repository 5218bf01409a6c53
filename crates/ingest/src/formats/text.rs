//! What line-based text formats share: a record's text (invalid UTF-8 replaced and noted),
//! pushing fields, and reading the time forms text logs write, including times with no year
//! (placed by the input's modification time) and no zone (in the zone `--timezone` names).

use super::Stamp;
use crate::json::Scratch;
use dwell_core::time::TimeError;
use dwell_core::{Event, Kind, Role, Section};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use std::borrow::Cow;

/// The record as text; invalid UTF-8 is replaced by U+FFFD and noted for the caller to report.
pub(crate) fn text<'a>(raw: &'a [u8], scratch: &mut Scratch) -> Cow<'a, str> {
    // Valid text (nearly always) is checked by the fast validator alone.
    if let Ok(s) = std::str::from_utf8(raw) {
        return Cow::Borrowed(s);
    }
    let s = String::from_utf8_lossy(raw);
    if let Cow::Owned(_) = s {
        scratch
            .notes
            .push("invalid UTF-8 replaced by U+FFFD; the rest of the record is read".into());
    }
    s
}

/// The event's time, from its Time-role field as `read` reads it, checked against the range
/// of event times; a value `read` refuses or that is out of range is reported as `field`'s.
pub(crate) fn stamp(
    ev: &Event,
    field: &str,
    read: impl FnOnce(&str) -> Result<i64, TimeError>,
) -> Stamp {
    let Some(t) = ev.role(Role::Time) else {
        return Stamp::Missing;
    };
    match read(t).and_then(dwell_core::time::check) {
        Ok(ns) => Stamp::At(ns),
        Err(why) => Stamp::Bad {
            field: field.into(),
            value: t.into(),
            why,
        },
    }
}

/// `Some(ns)` as a time `stamp` reads, `None` as unreadable.
pub(crate) fn readable(ns: Option<i64>) -> Result<i64, TimeError> {
    ns.ok_or(TimeError::Unreadable)
}

/// The first non-blank line of an input's head, for recognition.
pub(crate) fn first_line(head: &[u8]) -> Option<Cow<'_, str>> {
    head.split(|b| *b == b'\n')
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))
        .map(String::from_utf8_lossy)
}

/// Sets the entities' host to the event's (normalised) and lists it.
pub(crate) fn set_host(computer: &str, out: &mut dwell_core::Entities) {
    out.host = dwell_core::entity::host(computer);
    out.add(dwell_core::EntityKind::Host, out.host.clone());
}

/// Appends a text field of the event's data and returns its index.
pub(crate) fn put(ev: &mut Event, name: &str, value: &str) -> usize {
    ev.push(name, name, value, Kind::Str, Section::Data)
}

/// Appends a header field playing `role`.
pub(crate) fn put_role(ev: &mut Event, name: &str, value: &str, role: Role) {
    let i = ev.push(name, name, value, Kind::Str, Section::Header);
    ev.set_role(role, i);
}

/// Appends a field unless the value is empty or `-` (how text logs write "none").
pub(crate) fn put_some(ev: &mut Event, name: &str, value: &str) {
    if !value.is_empty() && value != "-" {
        put(ev, name, value);
    }
}

/// `%XX` escapes decoded (`+` is left as it is: only forms mean a space by it); `None` when
/// there are none or the result is not UTF-8.
pub(crate) fn percent_decoded(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|c| hex(*c)),
                b.get(i + 2).and_then(|c| hex(*c)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).ok().filter(|d| d != s)
}

/// Appends a URL part, and its percent-decoded form as a second value of the same field, so
/// that rules written for either form find it.
pub(crate) fn put_url(ev: &mut Event, name: &str, value: &str) {
    if value.is_empty() || value == "-" {
        return;
    }
    put(ev, name, value);
    if let Some(d) = percent_decoded(value) {
        put(ev, name, &d);
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// The month (1-12) a three-letter English abbreviation names.
pub(crate) fn month(b: &[u8]) -> Option<i8> {
    let m = b.get(..3)?;
    MONTHS
        .iter()
        .position(|x| x.eq_ignore_ascii_case(m))
        .map(|i| i as i8 + 1)
}

/// A leading BSD time, `Mmm dd hh:mm:ss` (day space- or zero-padded, or one digit; a fraction
/// of a second allowed), or with a year, `Mmm dd yyyy hh:mm:ss` as some daemons and devices
/// write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bsd {
    /// Bytes it takes.
    pub len: usize,
    /// The year, when written.
    pub year: Option<i16>,
    /// Month, 1-12.
    pub month: i8,
    /// Day of the month.
    pub day: i8,
    /// Seconds into the day.
    pub secs: i32,
}

/// See [`Bsd`].
pub(crate) fn bsd_time(b: &[u8]) -> Option<Bsd> {
    let month = month(b)?;
    if b.get(3) != Some(&b' ') {
        return None;
    }
    let mut i = 4;
    if b.get(i) == Some(&b' ') {
        i += 1;
    }
    let d0 = digits(b, i, 2).or_else(|| digits(b, i, 1))?;
    let day = d0.0 as i8;
    i = d0.1;
    if b.get(i) != Some(&b' ') || !(1..=31).contains(&day) {
        return None;
    }
    i += 1;
    let mut year = None;
    if let Some((y, j)) = digits(b, i, 4)
        && b.get(j) == Some(&b' ')
    {
        year = Some(y as i16);
        i = j + 1;
    }
    let (secs, mut end) = clock(b, i)?;
    // A fraction of a second (`23:01:18.123`), which `bsd_nanos` reads.
    if b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end += 1;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    Some(Bsd {
        len: end,
        year,
        month,
        day,
        secs,
    })
}

/// The fraction of a second of a `Mmm dd hh:mm:ss.fff` time, in nanoseconds.
pub(crate) fn bsd_nanos(t: &str) -> i64 {
    let Some((_, frac)) = t.split_once('.') else {
        return 0;
    };
    let digits: String = frac.chars().take(9).collect();
    let v: i64 = digits.parse().unwrap_or(0);
    v * 10i64.pow(9 - digits.len() as u32)
}

/// `hh:mm:ss` at `i`: seconds into the day, and where it ends.
fn clock(b: &[u8], i: usize) -> Option<(i32, usize)> {
    let (h, j) = digits(b, i, 2)?;
    let (m, j) = digits(b, expect(b, j, b':')?, 2)?;
    let (s, j) = digits(b, expect(b, j, b':')?, 2)?;
    (h < 24 && m < 60 && s <= 60).then_some(((h * 3600 + m * 60 + s) as i32, j))
}

fn expect(b: &[u8], i: usize, c: u8) -> Option<usize> {
    (b.get(i) == Some(&c)).then_some(i + 1)
}

/// Exactly `n` ASCII digits at `i`: their value and where they end.
fn digits(b: &[u8], i: usize, n: usize) -> Option<(i64, usize)> {
    let s = b.get(i..i + n)?;
    if !s.iter().all(u8::is_ascii_digit) || b.get(i + n).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some((
        s.iter().fold(0i64, |v, c| v * 10 + (c - b'0') as i64),
        i + n,
    ))
}

/// Length of a leading ISO 8601 / RFC 3339 date and time: `YYYY-MM-DD`, `T` or a space,
/// `hh:mm:ss`, an optional fraction, an optional `Z` or `±hh:mm` / `±hhmm`.
pub(crate) fn iso_len(b: &[u8]) -> Option<usize> {
    let (_, i) = digits(b, 0, 4)?;
    let (_, i) = digits(b, expect(b, i, b'-')?, 2)?;
    let (_, i) = digits(b, expect(b, i, b'-')?, 2)?;
    let i = match b.get(i) {
        Some(b'T' | b' ') => i + 1,
        _ => return None,
    };
    let (_, mut i) = clock(b, i)?;
    if matches!(b.get(i), Some(b'.' | b',')) && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    match b.get(i) {
        Some(b'Z') => i += 1,
        Some(b'+' | b'-') if digits(b, i + 1, 2).is_some() => {
            let mut j = i + 3;
            if b.get(j) == Some(&b':') {
                j += 1;
            }
            if let Some((_, k)) = digits(b, j, 2) {
                i = k;
            }
        }
        _ => {}
    }
    Some(i)
}

/// An ISO 8601 time: with an offset, as written; without one, in `tz`.
pub(crate) fn iso_ns(s: &str, tz: &TimeZone) -> Option<i64> {
    let t = s.trim();
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Some(ts.as_nanosecond() as i64);
    }
    // `+0100` offsets, which jiff's RFC 3339 parser does not take: insert the colon.
    let b = t.as_bytes();
    if b.len() > 5
        && matches!(b[b.len() - 5], b'+' | b'-')
        && b[b.len() - 4..].iter().all(u8::is_ascii_digit)
    {
        let fixed = format!("{}:{}", &t[..t.len() - 2], &t[t.len() - 2..]);
        if let Ok(ts) = fixed.parse::<jiff::Timestamp>() {
            return Some(ts.as_nanosecond() as i64);
        }
    }
    let dt: DateTime = t.replace(',', ".").parse().ok()?;
    local(dt, tz)
}

/// A civil time in `tz` (a time in a repeated hour takes the earlier instant).
pub(crate) fn local(dt: DateTime, tz: &TimeZone) -> Option<i64> {
    let z = dt.to_zoned(tz.clone()).ok()?;
    i64::try_from(z.timestamp().as_nanosecond()).ok()
}

/// A time written without a year (`Mar  6 04:07:28`), placed in the latest year that does not
/// put it more than a day after `reference` (the input's modification time): a log is written
/// before it is last modified, so a December line read in January belongs to last year. This
/// holds for any log that spans less than a year.
pub(crate) fn yearless(mo: i8, day: i8, secs: i32, reference: i64, tz: &TimeZone) -> Option<i64> {
    let ref_year = jiff::Timestamp::from_nanosecond(reference as i128)
        .ok()?
        .to_zoned(tz.clone())
        .year();
    let limit = reference.saturating_add(86_400 * 1_000_000_000);
    for year in [
        ref_year,
        ref_year - 1,
        ref_year - 2,
        ref_year - 3,
        ref_year - 4,
    ] {
        // 29 February exists only in leap years: the loop reaches one within four years.
        let Ok(date) = jiff::civil::Date::new(year, mo, day) else {
            continue;
        };
        let dt = date.at(
            (secs / 3600) as i8,
            (secs / 60 % 60) as i8,
            (secs % 60).min(59) as i8,
            0,
        );
        let ns = local(dt, tz)?;
        if ns <= limit {
            return Some(ns);
        }
    }
    None
}

/// `s.find(pat)` by `memchr`'s substring search, which costs a few instructions to start where
/// the standard library's two-way searcher costs hundreds: for the short patterns every line is
/// searched for. A valid UTF-8 pattern only matches at character boundaries.
pub(crate) fn find(s: &str, pat: &str) -> Option<usize> {
    memchr::memmem::find(s.as_bytes(), pat.as_bytes())
}

/// `s.split_once(pat)` by [`find`].
pub(crate) fn split_once<'a>(s: &'a str, pat: &str) -> Option<(&'a str, &'a str)> {
    find(s, pat).map(|i| (&s[..i], &s[i + pat.len()..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: i64 = 1_000_000_000;

    fn at(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().unwrap().as_nanosecond() as i64
    }

    #[test]
    fn urls_are_decoded_once() {
        assert_eq!(
            percent_decoded("ID=1%27%20or%201%3D%40%40version--").as_deref(),
            Some("ID=1' or 1=@@version--")
        );
        assert_eq!(percent_decoded("a+b"), None);
        assert_eq!(percent_decoded("100%"), None);
        assert_eq!(percent_decoded("%ff"), None);
    }

    #[test]
    fn bsd_times_are_read_with_padded_and_short_days() {
        let t = |s: &[u8]| bsd_time(s).map(|b| (b.len, b.year, b.month, b.day, b.secs));
        assert_eq!(
            t(b"Mar  6 04:07:28 h"),
            Some((15, None, 3, 6, 4 * 3600 + 7 * 60 + 28))
        );
        assert_eq!(t(b"Nov 13 09:23:38 x"), Some((15, None, 11, 13, 33818)));
        assert_eq!(t(b"Mar 6 04:07:28"), Some((14, None, 3, 6, 14848)));
        assert_eq!(
            t(b"Mar 11 2024 09:39:38 h"),
            Some((20, Some(2024), 3, 11, 34778))
        );
        assert_eq!(t(b"Mar 36 04:07:28"), None);
        assert_eq!(t(b"Mar  6 24:07:28"), None);
        assert_eq!(t(b"Foo  6 04:07:28"), None);
    }

    #[test]
    fn a_yearless_time_falls_in_the_year_before_its_files_modification() {
        let utc = TimeZone::UTC;
        let jan = at("2025-01-03T10:00:00Z");
        // December lines in a log last written in January are from the year before.
        assert_eq!(
            yearless(12, 31, 3600, jan, &utc),
            Some(at("2024-12-31T01:00:00Z"))
        );
        assert_eq!(
            yearless(1, 2, 0, jan, &utc),
            Some(at("2025-01-02T00:00:00Z"))
        );
        // A day of clock skew is tolerated.
        assert_eq!(
            yearless(1, 4, 0, jan, &utc),
            Some(at("2025-01-04T00:00:00Z"))
        );
        // 29 February goes back to the last leap year.
        assert_eq!(
            yearless(2, 29, 0, jan, &utc),
            Some(at("2024-02-29T00:00:00Z"))
        );
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        assert_eq!(
            yearless(7, 1, 12 * 3600, jan, &berlin),
            Some(at("2024-07-01T10:00:00Z"))
        );
    }

    #[test]
    fn iso_times_with_and_without_offsets() {
        let utc = TimeZone::UTC;
        let b = b"2019-06-14T13:01:15.412+01:30 localhost";
        assert_eq!(iso_len(b), Some(29));
        assert_eq!(iso_len(b"2024-04-24T00:41:12.604Z sshd"), Some(24));
        assert_eq!(iso_len(b"2024-04-08 23:10:05.412 UTC"), Some(23));
        assert_eq!(iso_len(b"2024-04-0823:10:05"), None);
        assert_eq!(
            iso_ns("2019-06-14T13:01:15.412+01:30", &utc),
            Some(at("2019-06-14T11:31:15.412Z"))
        );
        assert_eq!(
            iso_ns("2019-06-14T10:40:20.912134", &utc),
            Some(at("2019-06-14T10:40:20.912134Z"))
        );
        assert_eq!(
            iso_ns("2024-04-08 23:10:05+0100", &utc),
            Some(at("2024-04-08T22:10:05Z"))
        );
        let ny = TimeZone::get("America/New_York").unwrap();
        assert_eq!(
            iso_ns("2024-01-08 12:00:00", &ny),
            Some(at("2024-01-08T17:00:00Z"))
        );
        assert_eq!(at("1970-01-01T00:00:01Z"), NS);
    }
}
