//! Web server access logs: Apache and nginx `common` and `combined` formats, with any fields
//! a `log_format` appends after them (`rt=0.084 uid=214233`, or bare values). Named as
//! Sigma's `webserver` category names fields (W3C names: `c-ip`, `cs-method`, `cs-uri-stem`,
//! `cs-uri-query`, `sc-status`, `cs-user-agent`...); docs/sources/web.md.

use super::text::{month, put, put_role, put_some, put_url, text};
use super::text::{readable, set_host, stamp};
use super::{DecodeError, Fit, Format, Head, Layout, RecordCx, Stamp};
use crate::framing::{Framer, LineFramer};
use dwell_core::entity::{account, ip};
use dwell_core::{Entities, EntityKind, Event, Record, Role};

/// Apache and nginx access logs.
pub struct Access;

/// The parts of one access-log line.
#[derive(Debug, Default, PartialEq)]
struct Line<'a> {
    vhost: &'a str,
    client: &'a str,
    user: &'a str,
    time: &'a str,
    request: &'a str,
    status: &'a str,
    bytes: &'a str,
    referer: Option<&'a str>,
    agent: Option<&'a str>,
    extra: &'a str,
}

/// A token: a `"quoted"` string (with `\"` escapes) or a run of non-spaces.
fn next(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches(' ');
    if s.is_empty() {
        return None;
    }
    if let Some(r) = s.strip_prefix('"') {
        let b = r.as_bytes();
        let mut i = 0;
        while i < b.len() && b[i] != b'"' {
            i += if b[i] == b'\\' { 2 } else { 1 };
        }
        let i = i.min(r.len());
        return Some((&r[..i], r.get(i + 1..).unwrap_or("")));
    }
    let end = s.find(' ').unwrap_or(s.len());
    Some((&s[..end], &s[end..]))
}

/// The request: up to the quote that a status code follows (a request may hold unescaped
/// quotes, as probes for injection bugs do), else up to the next quote.
fn request(r: &str) -> Option<(&str, &str)> {
    let body = r.trim_start().strip_prefix('"')?;
    let b = body.as_bytes();
    for (i, _) in body.match_indices('"') {
        let after = &b[i + 1..];
        if after.len() >= 4
            && after[0] == b' '
            && after[1..4].iter().all(u8::is_ascii_digit)
            && after.get(4).is_none_or(|c| *c == b' ')
        {
            return Some((&body[..i], &body[i + 1..]));
        }
    }
    next(r)
}

fn parse(l: &str) -> Result<Line<'_>, String> {
    let mut x = Line::default();
    let (first, after_first) = next(l).ok_or("an empty line")?;
    // Apache's vhost_combined puts `host:port` first.
    let vhost = first.contains(':')
        && !first.contains("::")
        && next(after_first).is_some_and(|(t, _)| t.parse::<std::net::IpAddr>().is_ok());
    let (client, r) = if vhost {
        x.vhost = first;
        next(after_first).ok_or("no client after the virtual host")?
    } else {
        (first, after_first)
    };
    let (_ident, r) = next(r).ok_or("no identity after the client address")?;
    let (user, r) = next(r).ok_or("no user after the client address")?;
    let r = r
        .trim_start()
        .strip_prefix('[')
        .ok_or("no [time] after the user")?;
    let (time, r) = r.split_once(']').ok_or("the [time] is not closed")?;
    // The shape only: the time itself is read once, by `timestamp`, which reports one that
    // cannot be (31/Feb) and keeps the event.
    if !clf_shape(time) {
        return Err(format!(
            "'{time}' is not a time of the form 10/Oct/2000:13:55:36 -0700"
        ));
    }
    if !r.trim_start().starts_with('"') {
        return Err("no \"request\" after the time".into());
    }
    let (request, r) = request(r).ok_or("no request")?;
    let (status, r) = next(r).ok_or("no status after the request")?;
    if !(status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit())) {
        return Err(format!("status '{status}' is not a three-digit code"));
    }
    let (bytes, mut r) = next(r).unwrap_or(("-", ""));
    x.client = client;
    x.user = user;
    x.time = time;
    x.request = request;
    x.status = status;
    x.bytes = bytes;
    if r.trim_start().starts_with('"') {
        let (referer, r2) = next(r).unwrap_or(("", ""));
        x.referer = Some(referer);
        r = r2;
        if r.trim_start().starts_with('"') {
            let (agent, r3) = next(r).unwrap_or(("", ""));
            x.agent = Some(agent);
            r = r3;
        }
    }
    x.extra = r.trim();
    Ok(x)
}

/// Whether `t` is laid out as `10/Oct/2000:13:55:36 -0700` (the zone may be missing).
fn clf_shape(t: &str) -> bool {
    let b = t.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    b.len() >= 20
        && [0, 1, 7, 8, 9, 10, 12, 13, 15, 16, 18, 19]
            .iter()
            .all(|&i| digit(i))
        && b[2] == b'/'
        && b[6] == b'/'
        && b[11] == b':'
        && b[14] == b':'
        && b[17] == b':'
        && month(&b[3..6]).is_some()
}

/// `10/Oct/2000:13:55:36 -0700` in nanoseconds.
pub(crate) fn clf_time(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    if b.len() < 20 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' {
        return None;
    }
    let day: i8 = t.get(0..2)?.parse().ok()?;
    let mo = month(&b[3..6])?;
    let year: i16 = t.get(7..11)?.parse().ok()?;
    let h: i8 = t.get(12..14)?.parse().ok()?;
    let mi: i8 = t.get(15..17)?.parse().ok()?;
    let s: i8 = t.get(18..20)?.parse().ok()?;
    let zone = t.get(20..)?.trim();
    // Checked constructors: a line may say 31/Feb or 25:61:61, and must not panic.
    let dt = jiff::civil::DateTime::new(year, mo, day, h, mi, s, 0).ok()?;
    let off = if zone.is_empty() {
        0
    } else {
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let z = zone.trim_start_matches(['+', '-']);
        let hh: i32 = z.get(0..2)?.parse().ok()?;
        let mm: i32 = z.get(2..4).map_or(Some(0), |m| m.parse().ok())?;
        sign * (hh * 3600 + mm * 60)
    };
    let tz = jiff::tz::TimeZone::fixed(jiff::tz::Offset::from_seconds(off).ok()?);
    let ns = dt.to_zoned(tz).ok()?.timestamp().as_nanosecond();
    i64::try_from(ns).ok()
}

impl Format for Access {
    fn name(&self) -> &'static str {
        "access-log"
    }

    fn describe(&self) -> &'static str {
        "web server access logs (Apache and nginx common and combined)"
    }

    fn recognise(&self, head: &Head<'_>) -> Option<Fit> {
        let lines: Vec<String> = head
            .bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .take(10)
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        let first = lines.first()?;
        parse(first).ok()?;
        let good = lines.iter().filter(|l| parse(l).is_ok()).count();
        (good * 2 >= lines.len()).then_some(Fit::Shape)
    }

    fn layout(&self) -> Layout {
        Layout::Stream(|| Box::new(LineFramer::default()) as Box<dyn Framer>)
    }

    fn decode_record(
        &self,
        raw: &[u8],
        ev: &mut Event,
        cx: &mut RecordCx<'_>,
    ) -> Result<(), DecodeError> {
        let line = text(raw, cx.json);
        let x = parse(&line).map_err(|message| DecodeError { offset: 0, message })?;
        put_role(ev, "date", x.time, Role::Time);
        put(ev, "c-ip", x.client);
        put_some(ev, "s-sitename", x.vhost);
        put_some(ev, "cs-username", x.user);
        put(ev, "request", x.request);
        let mut parts = x.request.splitn(3, ' ');
        let (method, target, version) = (parts.next(), parts.next(), parts.next());
        if let (Some(m), Some(t)) = (method, target) {
            put(ev, "cs-method", m);
            let (stem, query) = t.split_once('?').unwrap_or((t, ""));
            put_url(ev, "cs-uri-stem", stem);
            put_url(ev, "cs-uri-query", query);
            put_some(ev, "cs-version", version.unwrap_or(""));
        }
        put(ev, "sc-status", x.status);
        put_some(ev, "sc-bytes", x.bytes);
        if let Some(r) = x.referer {
            put_some(ev, "cs-referer", r);
        }
        if let Some(a) = x.agent {
            put_some(ev, "cs-user-agent", a);
        }
        // Appended fields: `key=value` under their key, bare values as `extra`.
        let mut rest = x.extra;
        while let Some((tok, r)) = next(rest) {
            match tok.split_once('=') {
                Some((k, v)) if !k.is_empty() && !k.contains('"') => put_some(ev, k, v),
                _ => put_some(ev, "extra", tok),
            }
            rest = r;
        }
        Ok(())
    }

    fn timestamp(&self, ev: &Event) -> Stamp {
        stamp(ev, "date", |t| readable(clf_time(t)))
    }

    fn mapping(&self) -> &'static str {
        include_str!("../../data/access-log.yml")
    }

    fn entities(&self, r: &Record, computer: &str, out: &mut Entities) {
        set_host(computer, out);
        out.account = r.get("cs-username").and_then(|u| account(u, None));
        out.add(EntityKind::Account, out.account.clone());
        out.add(EntityKind::Ip, r.get("c-ip").and_then(ip));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_with_appended_fields() {
        let l = r#"192.0.2.77 - - [08/Apr/2024:19:22:41 +0000] "POST /account/login?next=%2F HTTP/2.0" 302 0 "https://shop.contoso.example/account/login" "Mozilla/5.0 (iPhone) \"x\"" rt=0.084 uid=214233"#;
        let x = parse(l).unwrap();
        assert_eq!((x.client, x.status, x.bytes), ("192.0.2.77", "302", "0"));
        assert_eq!(x.agent, Some(r#"Mozilla/5.0 (iPhone) \"x\""#));
        assert_eq!(x.extra, "rt=0.084 uid=214233");
        assert_eq!(
            clf_time("08/Apr/2024:21:22:41 +0200"),
            Some(1_712_604_161_000_000_000)
        );
        // Impossible dates and times are unreadable, not a panic.
        for t in [
            "31/Feb/2024:13:55:36 +0000",
            "10/Oct/2000:13:55:60 -0700",
            "00/Jan/2024:00:00:00 +0000",
            "10/Oct/2000:24:00:00 +0000",
            "10/Oct/2000:13:55:36 +9999",
        ] {
            assert_eq!(clf_time(t), None, "{t}");
        }
        // Such a line is an event whose time is reported as unusable.
        let x =
            parse(r#"1.2.3.4 - - [31/Feb/2024:13:55:36 +0000] "GET / HTTP/1.0" 200 1"#).unwrap();
        let mut ev = Event::default();
        put_role(&mut ev, "date", x.time, Role::Time);
        assert!(matches!(Access.timestamp(&ev), Stamp::Bad { .. }));
        assert!(
            parse(r#"1.2.3.4 - - [Oct/10/2000:13:55:36 +0000] "GET / HTTP/1.0" 200 1"#).is_err()
        );
    }

    #[test]
    fn common_format_and_refusals() {
        let x = parse(r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#).unwrap();
        assert_eq!((x.user, x.referer), ("frank", None));
        let x = parse(r#"plaso.log2timeline.net:443 10.1.1.2 - - [13/Jan/2018:19:31:17 +0000] "GET /evil.php HTTP/1.1" 200 1063"#).unwrap();
        assert_eq!(
            (x.vhost, x.client),
            ("plaso.log2timeline.net:443", "10.1.1.2")
        );
        let x = parse(r#"1.2.3.4 - - [25/Apr/2021:06:15:33 +0000] "GET /a?t=<script>alert("text")</script> HTTP/1.0" 404 1164"#).unwrap();
        assert_eq!(
            (x.request, x.status),
            (r#"GET /a?t=<script>alert("text")</script> HTTP/1.0"#, "404")
        );
        assert!(
            parse("127.0.0.1 - - [10/Oct/2000] \"GET / HTTP/1.0\" 200 1")
                .unwrap_err()
                .contains("not a time")
        );
        assert!(
            parse(r#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /" abc 1"#)
                .unwrap_err()
                .contains("three-digit")
        );
    }
}
