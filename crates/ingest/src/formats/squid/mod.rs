//! Squid access logs: the native format (`%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un
//! %Sh/%<a %mt`) and the request-size variant egress audits use (`... %Ss/%03>Hs %>st %<st
//! %rm %ru %[un %Sh/%<a "%{User-Agent}>h"`, attack-chain.md §4), told apart by whether a size
//! or the method follows the status. Named as Sigma's `proxy` category names fields
//! (`c-ip`, `cs-method`, `c-uri`, `cs-host`, `sc-status`, `cs-bytes`, `sc-bytes`,
//! `c-useragent`); docs/sources/web.md. A site's own `logformat` is read when given
//! ([`Squid::with_logformat`], `--squid-logformat`).

mod logformat;

use super::text::{first_line, readable, set_host, stamp};
use super::text::{put, put_role, put_some, put_url, text};
use super::{DecodeError, Fit, Format, Head, Layout, RecordCx, Stamp};
use crate::framing::{Framer, LineFramer};
use dwell_core::entity::{account, host, ip};
use dwell_core::{Entities, EntityKind, Event, Record, Role};
pub use logformat::LogFormat;
use std::sync::Arc;

/// Squid access logs.
#[derive(Debug, Clone, Default)]
pub struct Squid {
    custom: Option<Arc<LogFormat>>,
}

impl Squid {
    /// Squid's logs written with `logformat` SPEC (as squid.conf has it, without the name).
    pub fn with_logformat(spec: &str) -> Result<Squid, String> {
        Ok(Squid {
            custom: Some(Arc::new(LogFormat::parse(spec)?)),
        })
    }
}

/// An event from a line read by a site's own format.
fn custom_event(values: &[(&'static str, &str)], ev: &mut Event) {
    let get = |k: &str| values.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
    match (get("time_s"), get("time_ms")) {
        (Some(s), Some(ms)) => put_role(ev, "time", &format!("{s}.{ms}"), Role::Time),
        (Some(s), None) => put_role(ev, "time", s, Role::Time),
        _ => {
            if let Some(t) = get("time_clf") {
                put_role(ev, "time", t, Role::Time);
            }
        }
    }
    for (name, v) in values {
        match *name {
            "time_s" | "time_ms" | "time_clf" => {}
            "c-useragent" => {
                put(ev, name, if *v == "-" { "" } else { v });
            }
            "c-ip" => {
                put(ev, "c-ip", v);
                put(ev, "src_ip", v);
            }
            "c-uri" => {
                put_url(ev, "c-uri", v);
                uri_parts(v, get("cs-method").unwrap_or(""), ev);
            }
            _ => put_some(ev, name, v),
        }
    }
}

fn words(l: &str) -> Vec<&str> {
    // Byte positions throughout (every cut is at an ASCII space or quote, so a character
    // boundary), and one vector sized for a line: a searcher and a trim per word were the
    // largest part of the line's decoding.
    let s = l.trim();
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(12);
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
        } else if b[i] == b'"' {
            let end = memchr::memchr(b'"', &b[i + 1..]).map_or(b.len(), |e| i + 1 + e);
            out.push(&s[i + 1..end]);
            i = end + 1;
        } else {
            let end = memchr::memchr(b' ', &b[i..]).map_or(b.len(), |e| i + e);
            out.push(&s[i..end]);
            i = end;
        }
    }
    out
}

fn is_time(s: &str) -> bool {
    let (secs, ms) = s.split_once('.').unwrap_or((s, "0"));
    secs.len() >= 9
        && secs.bytes().all(|b| b.is_ascii_digit())
        && ms.bytes().all(|b| b.is_ascii_digit())
}

fn num(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn check(w: &[&str]) -> Result<bool, String> {
    if w.len() < 9 {
        return Err(format!(
            "{} fields, a Squid access line has at least 9",
            w.len()
        ));
    }
    if !is_time(w[0]) {
        return Err(format!("'{}' is not a Unix time with milliseconds", w[0]));
    }
    if !w[3].contains('/') {
        return Err(format!("'{}' is not a result code/status", w[3]));
    }
    // The request-size variant has two sizes before the method.
    Ok(num(w[4]) && num(w[5]))
}

impl Format for Squid {
    fn name(&self) -> &'static str {
        "squid"
    }

    fn describe(&self) -> &'static str {
        "Squid proxy access logs (native and with request sizes)"
    }

    fn recognise(&self, head: &Head<'_>) -> Option<Fit> {
        let l = first_line(head.bytes)?;
        if let Some(f) = &self.custom {
            return f.read(l.trim_end()).is_ok().then_some(Fit::Shape);
        }
        let w = words(&l);
        (check(&w).is_ok() && num(w[1])).then_some(Fit::Shape)
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
        if let Some(f) = &self.custom {
            let values = f.read(line.trim_end()).map_err(|message| DecodeError {
                offset: 0,
                message: format!("not in the given Squid logformat: {message}"),
            })?;
            custom_event(&values, ev);
            return Ok(());
        }
        let w = words(&line);
        let sizes = check(&w).map_err(|message| DecodeError { offset: 0, message })?;
        put_role(ev, "time", w[0], Role::Time);
        put(ev, "elapsed", w[1]);
        put(ev, "c-ip", w[2]);
        put(ev, "src_ip", w[2]);
        let (result, status) = w[3].split_once('/').unwrap_or((w[3], ""));
        put(ev, "result", result);
        put(ev, "sc-status", status);
        let at = if sizes {
            put(ev, "cs-bytes", w[4]);
            put(ev, "sc-bytes", w[5]);
            6
        } else {
            put(ev, "sc-bytes", w[4]);
            5
        };
        let rest = &w[at..];
        let method = rest.first().copied().unwrap_or("");
        let uri = rest.get(1).copied().unwrap_or("");
        put(ev, "cs-method", method);
        put_url(ev, "c-uri", uri);
        uri_parts(uri, method, ev);
        put_some(ev, "cs-username", rest.get(2).copied().unwrap_or(""));
        if let Some(hier) = rest.get(3) {
            let (code, peer) = hier.split_once('/').unwrap_or((hier, ""));
            put(ev, "hierarchy", code);
            put_some(ev, "dst_ip", peer);
        }
        match rest.get(4) {
            // Squid writes `-` for a header the request did not send: an empty user agent.
            Some(ua) if sizes => {
                put(ev, "c-useragent", if *ua == "-" { "" } else { ua });
            }
            Some(mime) => put_some(ev, "content_type", mime),
            None => {}
        }
        Ok(())
    }

    fn timestamp(&self, ev: &Event) -> Stamp {
        stamp(ev, "time", |t| {
            if t.contains('/') {
                readable(super::access::clf_time(t))
            } else {
                dwell_core::time::parse_checked(t)
            }
        })
    }

    fn mapping(&self) -> &'static str {
        "sources:\n  - logsource: {category: proxy}\n    format: squid\n"
    }

    fn entities(&self, r: &Record, computer: &str, out: &mut Entities) {
        set_host(computer, out);
        out.account = r.get("cs-username").and_then(|u| account(u, None));
        out.add(EntityKind::Account, out.account.clone());
        out.add(EntityKind::Ip, r.get("c-ip").and_then(ip));
        out.add(EntityKind::Ip, r.get("dst_ip").and_then(ip));
        out.add(EntityKind::Host, r.get("cs-host").and_then(host));
    }
}

/// `cs-host`, `c-uri-query` and `c-uri-extension` of a request's URL (`CONNECT` names
/// `host:port`).
fn uri_parts(uri: &str, method: &str, ev: &mut Event) {
    let after_scheme = uri.split_once("://").map_or(uri, |(_, r)| r);
    let (authority, path) = if method == "CONNECT" {
        (after_scheme, "")
    } else {
        after_scheme.split_at(after_scheme.find('/').unwrap_or(after_scheme.len()))
    };
    let hostname = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let hostname = if hostname.starts_with('[') {
        hostname.split(']').next().map_or(hostname, |h| &h[1..])
    } else {
        hostname.split(':').next().unwrap_or(hostname)
    };
    put_some(ev, "cs-host", hostname);
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    put_url(ev, "c-uri-query", query);
    let file = path.rsplit('/').next().unwrap_or("");
    if let Some((_, ext)) = file.rsplit_once('.') {
        put_some(ev, "c-uri-extension", ext);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(l: &str) -> Event {
        crate::formats::decoded(&Squid::default(), l).unwrap()
    }

    #[test]
    fn both_variants_fill_the_proxy_fields() {
        let ev = event(
            r#"1744154165.318  48211 10.10.30.23 TCP_MISS/200 5312880 1184 POST https://gfs270n117.userstorage.mega.co.nz/ul/8kQz1xV3 svc-monitor HIER_DIRECT/203.0.113.200 "rclone/v1.69.1""#,
        );
        assert_eq!(ev.get("cs-bytes"), Some("5312880"));
        assert_eq!(ev.get("sc-bytes"), Some("1184"));
        assert_eq!(ev.get("cs-host"), Some("gfs270n117.userstorage.mega.co.nz"));
        assert_eq!(ev.get("c-useragent"), Some("rclone/v1.69.1"));
        assert_eq!(ev.get("dst_ip"), Some("203.0.113.200"));
        let ev = event(
            "1066036250.624    120 192.168.0.5 TCP_MISS/200 1422 GET http://www.example.com/a/setup.exe?x=1 - DIRECT/192.0.2.10 application/octet-stream",
        );
        assert_eq!(ev.get("sc-bytes"), Some("1422"));
        assert_eq!(ev.get("cs-bytes"), None);
        assert_eq!(ev.get("c-uri-extension"), Some("exe"));
        assert_eq!(ev.get("c-uri-query"), Some("x=1"));
        assert_eq!(ev.get("content_type"), Some("application/octet-stream"));
        assert_eq!(ev.get("cs-username"), None);
    }

    #[test]
    fn a_sites_own_logformat_is_read_and_recognised() {
        let squid = Squid::with_logformat(
            r#"%>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st "%{Referer}>h" "%{User-Agent}>h" %Ss:%Sh"#,
        )
        .unwrap();
        let line = r#"10.10.30.23 - svc-monitor [09/Apr/2024:02:16:05 +0000] "POST https://gfs270n117.userstorage.mega.co.nz/ul/8kQz1xV3 HTTP/1.1" 200 1184 "-" "rclone/v1.69.1" TCP_MISS:HIER_DIRECT"#;
        let head = Head {
            bytes: line.as_bytes(),
            complete: true,
        };
        assert_eq!(squid.recognise(&head), Some(Fit::Shape));
        assert_eq!(Squid::default().recognise(&head), None);
        let ev = crate::formats::decoded(&squid, line).unwrap();
        assert_eq!(ev.get("c-useragent"), Some("rclone/v1.69.1"));
        assert_eq!(ev.get("cs-host"), Some("gfs270n117.userstorage.mega.co.nz"));
        assert_eq!(ev.get("cs-username"), Some("svc-monitor"));
        assert_eq!(squid.timestamp(&ev), Stamp::At(1_712_628_965_000_000_000));
        let e = crate::formats::decoded(&squid, "10.0.0.1 - - garbage").unwrap_err();
        assert!(
            e.message.starts_with("not in the given Squid logformat"),
            "{}",
            e.message
        );
    }
}
