//! Syslog text: RFC 3164 lines with and without a year, RFC 3339 high-precision lines
//! (rsyslog's file format), RFC 5424, rsyslog's forward formats (`<PRI>` before either), and
//! VMware's: ESXi host logs (`shell.log`, `auth.log`, `vobd.log`, `syslog.log`: a UTC time and
//! no host, ESXi 8's `In(14)` severity token) and `hostd.log` / vCenter `vpxd.log` (`info
//! hostd[pid] [Originator@6876 sub=.. opID=.. user=..]`, `-->` continuation lines).
//! Recognised by the shape of its first lines; the messages of sshd, sudo, PAM, user and group
//! management and the ESXi shell are parsed into fields (docs/sources/linux.md).

use super::text::{bsd_nanos, bsd_time, iso_len, iso_ns, put, put_role, put_some, text, yearless};
use super::text::{readable, set_host, stamp};
use super::{DecodeError, Fit, Format, Head, Layout, Opening, RecordCx, Stamp};
use crate::framing::{Framer, GroupedLines};
use dwell_core::entity::{account, ip};
use dwell_core::{Entities, EntityKind, Event, Kind, Record, Role};
use jiff::tz::TimeZone;
use std::sync::Arc;

/// Syslog text; see the module documentation.
#[derive(Debug, Clone)]
pub struct Syslog {
    variant: &'static str,
    reference: i64,
    tz: TimeZone,
}

impl Default for Syslog {
    fn default() -> Self {
        Syslog {
            variant: "",
            reference: 0,
            tz: TimeZone::UTC,
        }
    }
}

/// A parsed syslog header; offsets index the record's text.
#[derive(Debug, Default, PartialEq)]
struct Header<'a> {
    pri: Option<u16>,
    time: &'a str,
    /// `rfc3164`, `rfc3339`, `rfc5424`, `esxi`, `vmware`.
    variant: &'static str,
    level: &'a str,
    host: &'a str,
    program: &'a str,
    pid: &'a str,
    msgid: &'a str,
    data: &'a str,
    message: &'a str,
}

fn token(s: &str) -> (&str, &str) {
    let s = s.trim_start_matches(' ');
    match s.find(' ') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

/// `name[pid]:` / `name:` / `name[pid]` (VMware): the program, its pid, and whether a colon
/// closed it.
fn program(tok: &str) -> Option<(&str, &str, bool)> {
    let (body, colon) = match tok.strip_suffix(':') {
        Some(b) => (b, true),
        None => (tok, false),
    };
    if let Some(open) = body.find('[') {
        let pid = body[open + 1..].strip_suffix(']')?;
        let name = &body[..open];
        (!name.is_empty() && !pid.is_empty() && !pid.contains(' ')).then_some((name, pid, colon))
    } else {
        (colon && !body.is_empty() && !body.contains('[')).then_some((body, "", true))
    }
}

/// ESXi 8's severity token (`In(14)`, `Wa(180)`) or a VMware level word.
fn level(tok: &str) -> bool {
    let b = tok.as_bytes();
    let esxi8 = b.len() >= 5
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_lowercase()
        && b[2] == b'('
        && tok.ends_with(')')
        && b[3..b.len() - 1].iter().all(u8::is_ascii_digit);
    esxi8
        || matches!(
            tok,
            "verbose" | "info" | "warning" | "error" | "critical" | "panic" | "trivia" | "debug"
        )
}

fn parse(line: &str) -> Option<Header<'_>> {
    let mut h = Header::default();
    let mut rest = line;
    if let Some(r) = rest.strip_prefix('<') {
        let end = r.find('>').filter(|e| (1..=3).contains(e))?;
        h.pri = Some(r[..end].parse().ok().filter(|p| *p < 192)?);
        rest = &r[end + 1..];
        if let Some(r5424) = rest.strip_prefix("1 ") {
            return parse_5424(h, r5424);
        }
    }
    let b = rest.as_bytes();
    let iso = iso_len(b);
    let (len, iso) = match (iso, bsd_time(b)) {
        (Some(n), _) => (n, true),
        (None, Some(t)) => (t.len, false),
        _ => return None,
    };
    h.time = &rest[..len];
    rest = &rest[len..];
    h.variant = if iso { "rfc3339" } else { "rfc3164" };
    if let Some(r) = rest.strip_prefix(':') {
        // `Mar 11 09:39:39: --- last message repeated 5 times ---`, and VMware VAMI's
        // `2015-03-12T23:16:52.071:INFO:com.root:Response`.
        if let Some((lvl, r2)) = r
            .split_once(':')
            .filter(|(l, _)| !l.is_empty() && l.chars().all(|c| c.is_ascii_uppercase()))
            && let Some((logger, msg)) = r2.split_once(':')
        {
            h.level = lvl;
            h.program = logger;
            h.message = msg.trim_start();
            h.variant = "vmware";
            return Some(h);
        }
        h.message = r.trim_start();
        // ESXi's vobd.log: `2024-04-23T22:41:03.551Z: [GenericCorrelator] 1093540884us:
        // [vob.user.ssh.enabled] SSH enabled`.
        if iso
            && h.message.starts_with('[')
            && h.message
                .split(']')
                .next()
                .is_some_and(|c| c.ends_with("Correlator"))
        {
            h.program = "vobd";
            h.variant = "esxi";
        }
        return Some(h);
    }
    if !rest.starts_with(' ') && !rest.is_empty() {
        return None;
    }
    let (mut tok, mut after) = token(rest);
    if iso && level(tok) {
        h.level = tok;
        (tok, after) = token(after);
        h.variant = if h.time.ends_with('Z') {
            "esxi"
        } else {
            "rfc3339"
        };
    }
    match program(tok) {
        // No host: ESXi and VMware lines name the program first.
        Some((name, pid, colon)) if iso && (colon || !h.level.is_empty()) => {
            if h.pri.is_none() && h.time.ends_with('Z') {
                h.variant = "esxi";
            }
            h.program = name;
            h.pid = pid;
            after = after.strip_prefix(' ').unwrap_or(after);
            if let Some(r) = after.strip_prefix("[Originator@")
                && let Some(end) = r.find(']')
            {
                h.variant = "vmware";
                h.data = &r[..end];
                after = &r[end + 1..];
            }
            h.message = after.trim_start_matches(' ');
            return Some(h);
        }
        _ => {}
    }
    if tok.is_empty() {
        return None;
    }
    h.host = tok;
    let body = after.trim_start_matches(' ');
    let (tok, after) = token(body);
    match program(tok) {
        Some((name, pid, _)) => {
            h.program = name;
            h.pid = pid;
            h.message = after.strip_prefix(' ').unwrap_or(after);
        }
        None => h.message = body,
    }
    Some(h)
}

fn parse_5424<'a>(mut h: Header<'a>, rest: &'a str) -> Option<Header<'a>> {
    h.variant = "rfc5424";
    let (time, r) = token(rest);
    if time != "-" {
        iso_len(time.as_bytes()).filter(|n| *n == time.len())?;
        h.time = time;
    }
    let (host, r) = token(r);
    let (app, r) = token(r);
    let (pid, r) = token(r);
    let (msgid, r) = token(r);
    let none = |s: &'a str| if s == "-" { "" } else { s };
    h.host = none(host);
    h.program = none(app);
    h.pid = none(pid);
    h.msgid = none(msgid);
    let r = r.strip_prefix(' ').unwrap_or(r);
    let r = if let Some(sd) = r
        .strip_prefix("- ")
        .or(if r == "-" { Some("") } else { None })
    {
        sd
    } else if r.starts_with('[') {
        let end = sd_end(r)?;
        h.data = &r[..end];
        &r[end..]
    } else {
        r
    };
    h.message = r.trim_start_matches(' ').trim_start_matches('\u{feff}');
    Some(h)
}

/// End of RFC 5424 structured data (`[id k="v"][..]`), honouring `\]` and `\"` escapes.
fn sd_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        let mut quoted = false;
        i += 1;
        loop {
            match *b.get(i)? {
                b'\\' => i += 1,
                b'"' => quoted = !quoted,
                b']' if !quoted => break,
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    Some(i)
}

/// A record starts at a line with a syslog header.
fn starts(line: &[u8]) -> bool {
    match line.first() {
        // `<PRI>` is at most 5 bytes: the search for its `>` stops there, so a line full of
        // `<` costs no more than one without.
        Some(b'<') => match line.iter().take(5).position(|c| *c == b'>') {
            Some(e) if e >= 2 => {
                let b = &line[e + 1..];
                iso_len(b).is_some() || bsd_time(b).is_some() || b.starts_with(b"1 ")
            }
            _ => false,
        },
        // RFC 5424's `1 ` version only counts after a `<PRI>`.
        _ => iso_len(line).is_some() || bsd_time(line).is_some(),
    }
}

/// A `<PRI>` inside a line that starts another record (rsyslog's forward formats).
fn inner(rest: &[u8]) -> bool {
    starts(rest) && rest.len() > 4
}

fn grouped() -> Box<dyn Framer> {
    Box::new(GroupedLines::new(starts))
}

fn grouped_pri() -> Box<dyn Framer> {
    Box::new(GroupedLines::new(starts).cut_inside(inner))
}

/// The first non-blank lines of `head`, as text (the last may be cut).
fn first_lines(head: &[u8], n: usize) -> Vec<String> {
    let body = head.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(head);
    body.split(|b| *b == b'\n')
        .map(|l| String::from_utf8_lossy(l).trim_end().to_string())
        .filter(|l| !l.trim().is_empty())
        .take(n)
        .collect()
}

/// The variant of the first record in `head` and whether records carry `<PRI>`.
fn sniff(head: &[u8]) -> Option<(&'static str, bool)> {
    let lines = first_lines(head, 20);
    let first = lines.first()?;
    let h = parse(first)?;
    // Continuation lines may follow (a VAMI response's XML), but a quarter of a syslog file's
    // first lines at least are records.
    let records = lines.iter().filter(|l| starts(l.as_bytes())).count();
    if records * 4 < lines.len() {
        return None;
    }
    let host_or_program = !h.host.is_empty() || !h.program.is_empty();
    if !host_or_program {
        return None;
    }
    let variant = match (h.pri, h.variant) {
        (Some(_), "rfc3164" | "rfc3339") => "forward",
        (_, v) => v,
    };
    Some((variant, h.pri.is_some()))
}

impl Format for Syslog {
    fn name(&self) -> &'static str {
        "syslog"
    }

    fn describe(&self) -> &'static str {
        "syslog text (RFC 3164, RFC 3339, RFC 5424; auth.log, ESXi and vCenter logs)"
    }

    fn recognise(&self, head: &Head<'_>) -> Option<Fit> {
        sniff(head.bytes).map(|_| Fit::Shape)
    }

    fn open(&self, o: &Opening<'_>) -> Result<Option<Arc<dyn Format>>, String> {
        let (variant, _) = sniff(o.head.bytes).unwrap_or(("rfc3164", false));
        Ok(Some(Arc::new(Syslog {
            variant,
            reference: o.modified,
            tz: o.settings.timezone.clone(),
        })))
    }

    fn variant(&self) -> &str {
        self.variant
    }

    fn layout(&self) -> Layout {
        if self.variant == "forward" || self.variant == "rfc5424" {
            Layout::Stream(grouped_pri)
        } else {
            Layout::Stream(grouped)
        }
    }

    fn decode_record(
        &self,
        raw: &[u8],
        ev: &mut Event,
        cx: &mut RecordCx<'_>,
    ) -> Result<(), DecodeError> {
        let line = text(raw, cx.json);
        let Some(h) = parse(&line) else {
            return Err(DecodeError {
                offset: 0,
                message: "not a syslog line: no timestamp at its start".into(),
            });
        };
        fill(&h, ev);
        Ok(())
    }

    fn timestamp(&self, ev: &Event) -> Stamp {
        stamp(ev, "timestamp", |t| {
            readable(match bsd_time(t.as_bytes()) {
                Some(b) => match b.year {
                    Some(y) => jiff::civil::DateTime::new(
                        y,
                        b.month,
                        b.day,
                        (b.secs / 3600) as i8,
                        (b.secs / 60 % 60) as i8,
                        (b.secs % 60).min(59) as i8,
                        0,
                    )
                    .ok()
                    .and_then(|dt| super::text::local(dt, &self.tz)),
                    None => yearless(b.month, b.day, b.secs, self.reference, &self.tz),
                }
                .map(|ns| ns + bsd_nanos(t)),
                None => iso_ns(t, &self.tz),
            })
        })
    }

    fn mapping(&self) -> &'static str {
        MAPPING
    }

    fn entities(&self, r: &Record, computer: &str, out: &mut Entities) {
        set_host(computer, out);
        let user = r.get("User").or_else(|| r.get("user"));
        out.account = user.and_then(|u| account(u, None));
        out.add(EntityKind::Account, out.account.clone());
        out.add(
            EntityKind::Account,
            r.get("run_as").and_then(|u| account(u, None)),
        );
        out.add(EntityKind::Ip, r.get("src_ip").and_then(ip));
    }
}

/// The Sigma log sources of syslog events (data: `crates/ingest/data/syslog.yml`).
const MAPPING: &str = include_str!("../../../data/syslog.yml");

fn fill(h: &Header<'_>, ev: &mut Event) {
    if !h.time.is_empty() {
        put_role(ev, "timestamp", h.time, Role::Time);
    }
    if !h.host.is_empty() {
        put_role(ev, "host", h.host, Role::Host);
    }
    if !h.program.is_empty() {
        put_role(ev, "program", h.program, Role::Stream);
    }
    put_some(ev, "pid", h.pid);
    if let Some(pri) = h.pri {
        ev.push(
            "facility",
            "facility",
            &(pri / 8).to_string(),
            Kind::Num,
            dwell_core::Section::Data,
        );
        ev.push(
            "severity",
            "severity",
            &(pri % 8).to_string(),
            Kind::Num,
            dwell_core::Section::Data,
        );
    }
    put_some(ev, "level", h.level);
    put_some(ev, "msgid", h.msgid);
    if h.variant == "vmware" {
        for kv in h.data.split(' ') {
            if let Some((k, v)) = kv.split_once('=') {
                match k {
                    "sub" | "opID" | "user" => put(ev, k, v),
                    _ => 0,
                };
            }
        }
    } else {
        put_some(ev, "structured_data", h.data);
    }
    put(ev, "message", h.message);
    messages::parse(h.program, h.message, ev);
}

mod messages;

#[cfg(test)]
mod tests;
