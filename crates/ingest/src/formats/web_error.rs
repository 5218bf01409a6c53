//! Web server error logs: Apache httpd 2.2 and 2.4 (`[Wed Oct 11 14:32:52.123456 2000]
//! [core:error] [pid 1234:tid 5678] [client 192.0.2.7:5678] AH00052: ...`) and nginx
//! (`2024/04/08 19:22:41 [error] 1234#1234: *5 message, client: 192.0.2.7, server: shop, request:
//! "GET / HTTP/1.1"`), for SigmaHQ's `service: apache` and `service: nginx` rules, which look
//! for crash and error messages; docs/sources/web.md.

use super::text::{first_line, readable, stamp};
use super::text::{month, put, put_role, put_some, text};
use super::{DecodeError, Fit, Format, Head, Layout, Opening, RecordCx, Stamp};
use crate::framing::{Framer, LineFramer};
use dwell_core::entity::{host, ip};
use dwell_core::{Entities, EntityKind, Event, Record, Role};
use jiff::tz::TimeZone;
use std::sync::Arc;

/// Apache and nginx error logs.
#[derive(Debug, Clone)]
pub struct WebError {
    tz: TimeZone,
}

impl Default for WebError {
    fn default() -> Self {
        WebError { tz: TimeZone::UTC }
    }
}

/// `Wed Oct 11 14:32:52[.123456] 2000` (Apache) as a civil time.
fn apache_time(t: &str) -> Option<jiff::civil::DateTime> {
    let mut w = t.split_whitespace();
    let (_dow, mon, day, clock, year) = (w.next()?, w.next()?, w.next()?, w.next()?, w.next()?);
    let mo = month(mon.as_bytes())?;
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, "0"));
    let mut hms = hms.split(':');
    let (h, mi, s) = (
        hms.next()?.parse().ok()?,
        hms.next()?.parse().ok()?,
        hms.next()?.parse().ok()?,
    );
    let digits: String = frac.chars().take(9).collect();
    let ns: i32 = format!("{digits:0<9}").parse().ok()?;
    jiff::civil::DateTime::new(year.parse().ok()?, mo, day.parse().ok()?, h, mi, s, ns).ok()
}

/// `2024/04/08 19:22:41` (nginx) as a civil time.
fn nginx_time(t: &str) -> Option<jiff::civil::DateTime> {
    let b = t.as_bytes();
    if b.len() != 19 || b[4] != b'/' || b[7] != b'/' || b[10] != b' ' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| t.get(r)?.parse::<i16>().ok();
    jiff::civil::DateTime::new(
        n(0..4)?,
        n(5..7)? as i8,
        n(8..10)? as i8,
        n(11..13)? as i8,
        n(14..16)? as i8,
        n(17..19)? as i8,
        0,
    )
    .ok()
}

fn decode(l: &str, ev: &mut Event) -> Result<(), String> {
    if let Some(r) = l.strip_prefix('[') {
        let (time, rest) = r.split_once(']').ok_or("the [time] is not closed")?;
        apache_time(time).ok_or_else(|| format!("'{time}' is not an Apache error-log time"))?;
        put_role(ev, "time", time, Role::Time);
        put_role(ev, "server", "apache", Role::Stream);
        let mut rest = rest.trim_start();
        // `[module:level]` or `[level]`, `[pid N:tid M]`, `[client ip:port]`, in order.
        while let Some(r) = rest.strip_prefix('[') {
            let Some((inner, after)) = r.split_once(']') else {
                break;
            };
            if let Some(p) = inner.strip_prefix("pid ") {
                let (pid, tid) = p.split_once(":tid ").unwrap_or((p, ""));
                put(ev, "pid", pid);
                put_some(ev, "tid", tid);
            } else if let Some(c) = inner
                .strip_prefix("client ")
                .or_else(|| inner.strip_prefix("remote "))
            {
                let addr = match c.rsplit_once(':') {
                    Some((a, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !a.is_empty() => a,
                    _ => c,
                };
                put(ev, "c-ip", addr.trim_matches(['[', ']']));
            } else if let Some((module, level)) = inner.split_once(':') {
                put(ev, "module", module);
                put(ev, "level", level);
            } else {
                put(ev, "level", inner);
            }
            rest = after.trim_start();
        }
        put(ev, "message", rest);
        return Ok(());
    }
    let time = l.get(..19).ok_or("too short for an error-log line")?;
    nginx_time(time).ok_or("no [time] (Apache) or YYYY/MM/DD hh:mm:ss (nginx) at its start")?;
    let rest = l[19..].trim_start();
    let r = rest.strip_prefix('[').ok_or("no [level] after the time")?;
    let (level, rest) = r.split_once(']').ok_or("the [level] is not closed")?;
    put_role(ev, "time", time, Role::Time);
    put_role(ev, "server", "nginx", Role::Stream);
    put(ev, "level", level);
    let rest = rest.trim_start();
    let (pid, rest) = match rest.split_once(": ") {
        Some((p, r)) if p.contains('#') => (p, r),
        _ => ("", rest),
    };
    if let Some((p, t)) = pid.split_once('#') {
        put(ev, "pid", p);
        put(ev, "tid", t);
    }
    put(ev, "message", rest);
    for (key, name) in [
        (", client: ", "c-ip"),
        (", server: ", "server_name"),
        (", host: ", "cs-host"),
    ] {
        if let Some(v) = rest.split(key).nth(1) {
            put_some(
                ev,
                name,
                v.split(", ").next().unwrap_or("").trim_matches('"'),
            );
        }
    }
    if let Some(v) = rest.split(", request: \"").nth(1) {
        put_some(ev, "request", v.split('"').next().unwrap_or(""));
    }
    Ok(())
}

impl Format for WebError {
    fn name(&self) -> &'static str {
        "web-error"
    }

    fn describe(&self) -> &'static str {
        "web server error logs (Apache httpd, nginx)"
    }

    fn recognise(&self, head: &Head<'_>) -> Option<Fit> {
        let l = first_line(head.bytes)?;
        decode(l.trim_end(), &mut Event::default())
            .ok()
            .map(|_| Fit::Shape)
    }

    fn open(&self, o: &Opening<'_>) -> Result<Option<Arc<dyn Format>>, String> {
        Ok(Some(Arc::new(WebError {
            tz: o.settings.timezone.clone(),
        })))
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
        let l = text(raw, cx.json);
        decode(&l, ev).map_err(|message| DecodeError { offset: 0, message })
    }

    fn timestamp(&self, ev: &Event) -> Stamp {
        // Both servers write local time without a zone: read in --timezone's.
        stamp(ev, "time", |t| {
            readable(
                apache_time(t)
                    .or_else(|| nginx_time(t))
                    .and_then(|dt| super::text::local(dt, &self.tz)),
            )
        })
    }

    fn mapping(&self) -> &'static str {
        // Routed by the server (the stream), so Apache's rules never run on nginx's lines.
        "sources:\n  - logsource: {service: apache}\n    channel: apache\n  - logsource: {service: nginx}\n    channel: nginx\n"
    }

    fn entities(&self, r: &Record, computer: &str, out: &mut Entities) {
        let h = host(computer).or_else(|| r.get("server_name").and_then(host));
        out.host = h.clone();
        out.add(EntityKind::Host, h);
        out.add(EntityKind::Ip, r.get("c-ip").and_then(ip));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apache_and_nginx_lines() {
        let mut ev = Event::default();
        decode("[Wed Oct 11 14:32:52.123456 2000] [core:notice] [pid 1234:tid 5678] [client 192.0.2.7:5678] AH00052: child pid 1234 exit signal Segmentation fault (11)", &mut ev).unwrap();
        assert_eq!(
            (
                ev.get("module"),
                ev.get("level"),
                ev.get("pid"),
                ev.get("c-ip")
            ),
            (
                Some("core"),
                Some("notice"),
                Some("1234"),
                Some("192.0.2.7")
            )
        );
        assert_eq!(ev.stream(), Some("apache"));
        assert_eq!(
            WebError::default().timestamp(&ev),
            Stamp::At(971_274_772_123_456_000)
        );
        let mut ev = Event::default();
        decode("[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] client denied by server configuration", &mut ev).unwrap();
        assert_eq!(ev.get("level"), Some("error"));
        let mut ev = Event::default();
        decode(r#"2024/04/08 19:22:41 [alert] 1234#1234: *5 upstream timed out, client: 192.0.2.7, server: shop, request: "GET / HTTP/1.1", host: "shop.example""#, &mut ev).unwrap();
        assert_eq!(
            (
                ev.get("level"),
                ev.get("pid"),
                ev.get("c-ip"),
                ev.get("cs-host")
            ),
            (
                Some("alert"),
                Some("1234"),
                Some("192.0.2.7"),
                Some("shop.example")
            )
        );
        assert_eq!(ev.get("request"), Some("GET / HTTP/1.1"));
        assert_eq!(ev.stream(), Some("nginx"));
        assert!(
            decode(
                "[Wed Feb 31 14:32:52 2000] [error] x",
                &mut Event::default()
            )
            .is_err()
        );
        assert!(decode("2024/04/08 19:22:41 error x", &mut Event::default()).is_err());
    }
}
