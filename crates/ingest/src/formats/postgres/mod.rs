//! PostgreSQL server logs: stderr with the common `log_line_prefix` forms (`%m [%p] `,
//! `%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h `, `%m [%p] %q%u@%d `, Amazon RDS's
//! `%t:%r:%u@%d:[%p]:`) and their DETAIL / HINT / CONTEXT / STATEMENT lines and tab-indented
//! continuations joined to the message they belong to; `csvlog` (23 to 26 columns, PG 9.0
//! to 17, rows may span lines); `jsonlog` (PG 15+, keys left out when NULL); and psql's client
//! transcript of `NOTICE:` lines (as pgaudit's `log_client` writes them). Every variant is named
//! with csvlog's column names, and pgaudit's `AUDIT:` messages and statement logging
//! (`duration: .. ms  statement: ..`) are split into fields (docs/sources/database.md).

mod message;

use super::text::{iso_len, put, put_role, put_some, text};
use super::text::{readable, stamp};
use super::{DecodeError, Fit, Format, Head, Layout, Opening, RecordCx, Stamp};
use crate::framing::{CsvRows, Framer, GroupedLines, JsonFramer, LineFramer};
use crate::json::{Naming, flatten_gated};
use dwell_core::entity::{account, host, ip};
use dwell_core::{Entities, EntityKind, Event, Kind, Record, Role, Section};
use jiff::tz::TimeZone;
use std::borrow::Cow;
use std::sync::Arc;

/// PostgreSQL logs; see the module documentation.
#[derive(Debug, Clone)]
pub struct Postgres {
    variant: &'static str,
    tz: TimeZone,
}

impl Default for Postgres {
    fn default() -> Self {
        Postgres {
            variant: "",
            tz: TimeZone::UTC,
        }
    }
}

/// Message severities, and whether the line continues the message before it.
const SEVERITIES: [(&str, bool); 19] = [
    ("LOG", false),
    ("ERROR", false),
    ("FATAL", false),
    ("PANIC", false),
    ("WARNING", false),
    ("NOTICE", false),
    ("INFO", false),
    ("DEBUG", false),
    ("DEBUG1", false),
    ("DEBUG2", false),
    ("DEBUG3", false),
    ("DEBUG4", false),
    ("DEBUG5", false),
    ("DETAIL", true),
    ("HINT", true),
    ("CONTEXT", true),
    ("STATEMENT", true),
    ("QUERY", true),
    ("LOCATION", true),
];

/// A stderr line's parts: time (with zone), prefix, severity, message.
#[derive(Debug, PartialEq)]
struct Line<'a> {
    time: &'a str,
    prefix: &'a str,
    severity: &'a str,
    continues: bool,
    message: &'a str,
}

/// Length of `YYYY-MM-DD HH:MM:SS[.fff][ ZONE]` at the start of `s`.
fn time_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let n = iso_len(b)?;
    if b.get(10) != Some(&b' ') {
        return None;
    }
    let rest = &s[n..];
    let zone = rest
        .strip_prefix(' ')
        .map(|r| {
            r.bytes()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'-' || *c == b':')
                .count()
        })
        .filter(|z| {
            let t = &rest[1..1 + z];
            *z > 0 && (t.bytes().all(|c| c.is_ascii_uppercase()) || t.starts_with(['+', '-']))
        });
    Some(n + zone.map_or(0, |z| z + 1))
}

fn parse_line(l: &str) -> Option<Line<'_>> {
    let n = time_len(l)?;
    let mut line = after_time(&l[n..])?;
    line.time = &l[..n];
    Some(line)
}

/// The prefix, severity and message of what follows a line's time (`time` left empty).
fn after_time(rest: &str) -> Option<Line<'_>> {
    // The severity: the first `WORD:  ` after a space or a colon.
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if (i == 0 || b[i - 1] == b' ' || b[i - 1] == b':') && b[i].is_ascii_uppercase() {
            let word_end = i + b[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            if rest[word_end..].starts_with(":  ")
                && let Some((sev, cont)) = SEVERITIES.iter().find(|(s, _)| *s == &rest[i..word_end])
            {
                return Some(Line {
                    time: "",
                    prefix: rest[..i].trim(),
                    severity: sev,
                    continues: *cont,
                    message: &rest[word_end + 3..],
                });
            }
        }
        i += 1;
    }
    None
}

fn stderr_starts(line: &[u8]) -> bool {
    parse_line(&utf8_head(line, 512)).is_some_and(|x| !x.continues)
}

/// `line`'s first `max` bytes as text, what a record's start is judged by: validated (faster
/// than the lossy decoder's scan), and lossily copied only when not valid.
fn utf8_head(line: &[u8], max: usize) -> std::borrow::Cow<'_, str> {
    let head = &line[..line.len().min(max)];
    match std::str::from_utf8(head) {
        Ok(s) => s.into(),
        Err(_) => String::from_utf8_lossy(head),
    }
}

fn csv_starts(line: &[u8]) -> bool {
    let b = line.strip_prefix(b"\"").unwrap_or(line);
    let l = utf8_head(b, 64);
    time_len(&l).is_some_and(|n| matches!(l.as_bytes().get(n), Some(b',' | b'"')))
}

/// Parts of a `log_line_prefix`: process id, line number, user, database, application and
/// client, from the forms listed in the module documentation. Byte loops throughout: the
/// prefix is short, and a searcher per part cost more than the rest of the line's decoding.
fn prefix_fields(p: &str, ev: &mut Event) {
    let b = p.as_bytes();
    let mut pid_seen = false;
    // Every `[...]` (up to the next `]`, or the end): a process id, or `line-n`.
    let mut from = 0;
    while let Some(o) = b[from..].iter().position(|&c| c == b'[') {
        let start = from + o + 1;
        let end = b[start..]
            .iter()
            .position(|&c| c == b']')
            .map_or(b.len(), |e| start + e);
        let inner = &p[start..end];
        if !pid_seen && !inner.is_empty() && inner.bytes().all(|c| c.is_ascii_digit()) {
            put(ev, "process_id", inner);
            pid_seen = true;
        } else if let Some(d) = inner.bytes().position(|c| c == b'-')
            && d > 0
            && inner.as_bytes()[..d].iter().all(u8::is_ascii_digit)
        {
            put(ev, "session_line_num", &inner[..d]);
        }
        from = start;
    }
    // The parts between `,`, ` ` and `:` (ASCII, so every cut is a character boundary).
    let mut start = 0;
    for i in 0..=b.len() {
        if i == b.len() || matches!(b[i], b',' | b' ' | b':') {
            if i > start {
                prefix_part(&p[start..i], ev);
            }
            start = i + 1;
        }
    }
}

/// One part of a prefix: `user=..`, `db=..`, `app=..`, `client=..`, `user@db` or
/// `host(port)`.
fn prefix_part(part: &str, ev: &mut Event) {
    let b = part.as_bytes();
    if let Some(e) = b.iter().position(|&c| c == b'=') {
        let v = &part[e + 1..];
        match &part[..e] {
            "user" => put_some(ev, "user_name", v),
            "db" => put_some(ev, "database_name", v),
            "app" => put_some(ev, "application_name", v),
            "client" => put_client(ev, v),
            _ => {}
        }
    } else if let Some(a) = b.iter().position(|&c| c == b'@')
        && !b.contains(&b'[')
    {
        put_some(ev, "user_name", &part[..a]);
        put_some(ev, "database_name", &part[a + 1..]);
    } else if let Some(o) = b.iter().position(|&c| c == b'(')
        && b.last() == Some(&b')')
    {
        put_client(ev, &part[..o]);
    }
}

/// csvlog's columns, by how many a row has (PG 9.0 to 12: 23; 13: 24; 14 and later: 26).
const CSV_COLUMNS: [&str; 26] = [
    "log_time",
    "user_name",
    "database_name",
    "process_id",
    "connection_from",
    "session_id",
    "session_line_num",
    "command_tag",
    "session_start_time",
    "virtual_transaction_id",
    "transaction_id",
    "error_severity",
    "sql_state_code",
    "message",
    "detail",
    "hint",
    "internal_query",
    "internal_query_pos",
    "context",
    "query",
    "query_pos",
    "location",
    "application_name",
    "backend_type",
    "leader_pid",
    "query_id",
];

/// One CSV row (RFC 4180: `"` quotes, `""` escapes; a quoted value may span lines).
pub(crate) fn csv_row(s: &str) -> Result<Vec<Cow<'_, str>>, String> {
    // Values borrow the row unless they hold an escaped quote: a csvlog row has 26 columns,
    // and a copy of each cost more than all the rest of its decoding.
    let b = s.as_bytes();
    let end = b.len() - usize::from(b.last() == Some(&b'\r'));
    let mut out: Vec<Cow<'_, str>> = Vec::with_capacity(26);
    let mut i = 0;
    loop {
        let (value, comma) = if b.get(i) == Some(&b'"') && i < end {
            let mut owned: Option<String> = None;
            let (mut seg, mut j) = (i + 1, i + 1);
            let (mut value, after) = loop {
                let q = j + memchr::memchr(b'"', &b[j..end])
                    .ok_or_else(|| "a quoted CSV value is not closed".to_string())?;
                if q + 1 < end && b[q + 1] == b'"' {
                    owned.get_or_insert_with(String::new).push_str(&s[seg..=q]);
                    (seg, j) = (q + 2, q + 2);
                } else {
                    let tail = &s[seg..q];
                    break match owned.take() {
                        Some(mut o) => {
                            o.push_str(tail);
                            (Cow::Owned(o), q + 1)
                        }
                        None => (Cow::Borrowed(tail), q + 1),
                    };
                }
            };
            // What follows the closing quote, up to the comma, is kept as it is (quotes too).
            let comma = next_comma(b, after, end);
            if comma > after {
                value.to_mut().push_str(&s[after..comma]);
            }
            (value, comma)
        } else {
            // An unquoted value is taken as it is, quotes and all.
            let comma = next_comma(b, i, end);
            (Cow::Borrowed(&s[i..comma]), comma)
        };
        out.push(value);
        if comma >= end {
            return Ok(out);
        }
        i = comma + 1;
    }
}

fn next_comma(b: &[u8], from: usize, end: usize) -> usize {
    memchr::memchr(b',', &b[from..end]).map_or(end, |c| from + c)
}

/// Zone abbreviations PostgreSQL writes with `%t`/`%m`, as offsets in seconds; others are
/// read in `--timezone`'s zone.
const ZONES: [(&str, i32); 22] = [
    ("UTC", 0),
    ("GMT", 0),
    ("Z", 0),
    ("WET", 0),
    ("WEST", 3600),
    ("BST", 3600),
    ("CET", 3600),
    ("CEST", 7200),
    ("EET", 7200),
    ("EEST", 10800),
    ("MSK", 10800),
    ("EST", -18000),
    ("EDT", -14400),
    ("CST", -21600),
    ("CDT", -18000),
    ("MST", -25200),
    ("MDT", -21600),
    ("PST", -28800),
    ("PDT", -25200),
    ("JST", 32400),
    ("AEST", 36000),
    ("AEDT", 39600),
];

/// `2024-04-08 23:10:05.412 UTC` / `... CEST` / `... +02` in nanoseconds.
pub(crate) fn pg_time(t: &str, tz: &TimeZone) -> Option<i64> {
    let t = t.trim();
    // A zone with no abbreviation is written as an offset: `+04`, `-03`, `+0530`, `+05:30`.
    if let Some((civil, off)) = t.rsplit_once(' ')
        && let Some(sign) = off.chars().next().filter(|c| *c == '+' || *c == '-')
    {
        let digits: String = off[1..].chars().filter(char::is_ascii_digit).collect();
        let (h, m) = match digits.len() {
            1 | 2 => (digits.as_str(), "00"),
            4 => (&digits[..2], &digits[2..]),
            _ => return None,
        };
        return super::text::iso_ns(&format!("{civil}{sign}{h:0>2}:{m}"), tz);
    }
    let (civil, zone) = match t.rsplit_once(' ') {
        Some((c, z)) if z.chars().all(|c| c.is_ascii_alphabetic()) => (c, Some(z)),
        _ => (t, None),
    };
    match zone {
        None => super::text::iso_ns(civil, tz),
        Some(z) => {
            let off = ZONES.iter().find(|(n, _)| *n == z).map(|(_, o)| *o);
            let zone = match off {
                Some(o) => TimeZone::fixed(jiff::tz::Offset::from_seconds(o).ok()?),
                None => tz.clone(),
            };
            super::text::iso_ns(civil, &zone)
        }
    }
}

/// The first CSV row of `head`: up to the first line break outside quotes (a message or
/// statement may span lines).
fn first_row(head: &[u8]) -> String {
    let body = head.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(head);
    let body = &body[body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0)..];
    let mut quoted = false;
    let end = body
        .iter()
        .position(|&b| {
            if b == b'"' {
                quoted = !quoted;
            }
            b == b'\n' && !quoted
        })
        .unwrap_or(body.len());
    String::from_utf8_lossy(&body[..end])
        .trim_end_matches('\r')
        .to_string()
}

fn sniff(head: &[u8]) -> Option<&'static str> {
    let body = head.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(head);
    let first_lines: Vec<String> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .take(200)
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    let first = first_lines.first()?;
    if first.starts_with('{') {
        return (first.contains("\"error_severity\"") && first.contains("\"timestamp\""))
            .then_some("jsonlog");
    }
    if csv_starts(first.as_bytes()) {
        let first = first_row(body);
        let row = csv_row(&first).ok()?;
        // 22 columns: PostgreSQL 8.4's csvlog (no application_name), refused on opening.
        return (22..=26).contains(&row.len()).then_some("csvlog");
    }
    if parse_line(first).is_some() {
        return Some("stderr");
    }
    // psql's transcript: server messages among the SQL it echoes.
    let notices = first_lines
        .iter()
        .filter(|l| l.starts_with("NOTICE:  ") || l.starts_with("WARNING:  "))
        .count();
    (notices >= 1 && first_lines.iter().any(|l| l.contains("AUDIT: "))).then_some("psql")
}

impl Format for Postgres {
    fn name(&self) -> &'static str {
        "postgresql"
    }

    fn describe(&self) -> &'static str {
        "PostgreSQL logs (stderr, csvlog, jsonlog; pgaudit)"
    }

    fn recognise(&self, head: &Head<'_>) -> Option<Fit> {
        sniff(head.bytes).map(|_| Fit::Shape)
    }

    fn open(&self, o: &Opening<'_>) -> Result<Option<Arc<dyn Format>>, String> {
        let variant = sniff(o.head.bytes).unwrap_or("stderr");
        if variant == "csvlog" && csv_row(&first_row(o.head.bytes)).is_ok_and(|r| r.len() == 22) {
            return Err(
                "its csvlog rows have 22 columns, as PostgreSQL 8.4 wrote them; \
                        dwell reads the csvlog of PostgreSQL 9.0 to 17 (23 to 26 columns)"
                    .into(),
            );
        }
        Ok(Some(Arc::new(Postgres {
            variant,
            tz: o.settings.timezone.clone(),
        })))
    }

    fn variant(&self) -> &str {
        self.variant
    }

    fn layout(&self) -> Layout {
        match self.variant {
            "jsonlog" => Layout::Stream(|| Box::new(JsonFramer::default()) as Box<dyn Framer>),
            "csvlog" => Layout::Stream(|| Box::new(CsvRows::default()) as Box<dyn Framer>),
            "psql" => Layout::Stream(|| Box::new(LineFramer::default()) as Box<dyn Framer>),
            _ => Layout::Stream(|| Box::new(GroupedLines::new(stderr_starts)) as Box<dyn Framer>),
        }
    }

    fn decode_record(
        &self,
        raw: &[u8],
        ev: &mut Event,
        cx: &mut RecordCx<'_>,
    ) -> Result<(), DecodeError> {
        let err = |message: String| DecodeError { offset: 0, message };
        match self.variant {
            "jsonlog" => {
                cx.json.naming = Naming::Dotted;
                cx.json.roles = JSON_ROLES;
                flatten_gated(raw, ev, cx.json, cx.resolver, cx.gate)?;
                json_aliases(ev);
                if let Some(m) = ev.get("message").map(str::to_string) {
                    message::parse(&m, ev);
                }
                // The added fields carry no symbols: rules must find fields by name.
                ev.resolved = false;
                Ok(())
            }
            "csvlog" => {
                let t = text(raw, cx.json);
                let row = csv_row(&t).map_err(err)?;
                if !(23..=26).contains(&row.len()) {
                    return Err(err(format!(
                        "{} columns; a csvlog row has 23 (PG 9.0-12), 24 (PG 13) or 26 (PG 14-17)",
                        row.len()
                    )));
                }
                // 23, 24 and 26 columns are PostgreSQL's own layouts; the columns of another
                // count after backend_type cannot be told apart and are named by position.
                let known = if row.len() == 25 { 24 } else { row.len() };
                for (i, v) in row.iter().enumerate() {
                    let name: Cow<'_, str> = if i < known {
                        CSV_COLUMNS[i].into()
                    } else {
                        format!("column_{}", i + 1).into()
                    };
                    if i == 0 {
                        put_role(ev, &name, v, Role::Time);
                    } else if i == 4 {
                        // csvlog writes `host:port` for every client, IPv6 ones too.
                        put(ev, "connection_from", v);
                        if let Some((h, p)) = v.rsplit_once(':')
                            && !h.is_empty()
                            && !p.is_empty()
                            && p.bytes().all(|b| b.is_ascii_digit())
                        {
                            put(ev, "remote_host", h);
                        } else if !v.is_empty() {
                            put(ev, "remote_host", v);
                        }
                    } else if !v.is_empty() {
                        put(ev, &name, v);
                    }
                }
                message::parse(&row[13], ev);
                Ok(())
            }
            "psql" => {
                let t = text(raw, cx.json);
                let Some((sev, msg)) = t
                    .split_once(":  ")
                    .filter(|(s, _)| SEVERITIES.iter().any(|(x, _)| x == s))
                else {
                    return Err(err(
                        "psql session text (SQL and its results), not a server message".into(),
                    ));
                };
                put(ev, "error_severity", sev);
                put(ev, "message", msg);
                message::parse(msg, ev);
                Ok(())
            }
            _ => {
                let t = text(raw, cx.json);
                stderr_record(&t, ev).map_err(err)
            }
        }
    }

    fn timestamp(&self, ev: &Event) -> Stamp {
        stamp(ev, "log_time", |t| readable(pg_time(t, &self.tz)))
    }

    fn mapping(&self) -> &'static str {
        MAPPING
    }

    fn entities(&self, r: &Record, computer: &str, out: &mut Entities) {
        database_entities(r, computer, out);
    }
}

/// The Sigma log sources of PostgreSQL events (data: `crates/ingest/data/postgresql.yml`).
const MAPPING: &str = include_str!("../../../data/postgresql.yml");

/// Account (the database role), client address and host of a PostgreSQL event.
pub(crate) fn database_entities(r: &Record, computer: &str, out: &mut Entities) {
    let h = host(computer);
    out.host = h.clone();
    out.add(EntityKind::Host, h);
    out.account = r.get("user_name").and_then(|u| account(u, None));
    out.add(EntityKind::Account, out.account.clone());
    let client = r.get("connection_from").map(client_host);
    out.add(EntityKind::Ip, client.and_then(ip));
}

/// The host part of a client address: `10.10.30.23:50877` or `10.10.30.23(50877)` ->
/// `10.10.30.23`; an IPv6 address or a socket is kept whole.
pub(crate) fn client_host(c: &str) -> &str {
    let c = c.split('(').next().unwrap_or(c);
    match c.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
        _ => c,
    }
}

/// `connection_from` as written, and `remote_host` (jsonlog's name) for its host alone, so
/// that rules can compare clients whatever port each connection came from.
pub(crate) fn put_client(ev: &mut Event, value: &str) {
    if value.is_empty() || value == "-" {
        return;
    }
    put(ev, "connection_from", value);
    put(ev, "remote_host", client_host(value));
}

const JSON_ROLES: dwell_core::RoleNames = dwell_core::RoleNames::new(&[("timestamp", Role::Time)]);

/// jsonlog's keys under csvlog's names.
fn json_aliases(ev: &mut Event) {
    const NAMES: [(&str, &str); 9] = [
        ("user", "user_name"),
        ("dbname", "database_name"),
        ("pid", "process_id"),
        ("remote_host", "connection_from"),
        ("ps", "command_tag"),
        ("state_code", "sql_state_code"),
        ("line_num", "session_line_num"),
        ("session_start", "session_start_time"),
        ("txid", "transaction_id"),
    ];
    let n = ev.fields.len();
    for i in 0..n {
        let name = ev.name(&ev.fields[i]);
        if let Some((_, to)) = NAMES.iter().find(|(from, _)| *from == name) {
            super::family::alias(ev, i, to);
        }
    }
}

/// The fields of a message PostgreSQL sent through syslog (`[3-1] user=x,db=y LOG:  ...`):
/// its line number, prefix, severity and message.
pub(crate) fn syslog_message(m: &str, ev: &mut Event) {
    let body = match m.strip_prefix('[').and_then(|r| r.split_once("] ")) {
        Some((n, rest)) => {
            let (line, part) = n.split_once('-').unwrap_or((n, ""));
            put_some(ev, "session_line_num", line);
            put_some(ev, "line_part", part);
            rest
        }
        None => m,
    };
    // The same search as a stderr line's, after the time that syslog already took.
    if let Some(l) = after_time(body) {
        prefix_fields(l.prefix, ev);
        put(ev, "error_severity", l.severity);
        message::parse(l.message, ev);
    }
}

/// A stderr record: its first line, then DETAIL / CONTEXT / STATEMENT ... lines and
/// continuations.
fn stderr_record(t: &str, ev: &mut Event) -> Result<(), String> {
    let mut lines = t.split('\n');
    let first = lines.next().unwrap_or("");
    let l = parse_line(first).ok_or_else(|| {
        "not a PostgreSQL log line: no time and severity (`LOG:  `) at its start".to_string()
    })?;
    put_role(ev, "log_time", l.time, Role::Time);
    prefix_fields(l.prefix, ev);
    put(ev, "error_severity", l.severity);
    // The message and the lines that belong to it, in order: (field, text).
    let mut parts: Vec<(String, String)> = vec![("message".into(), l.message.to_string())];
    for line in lines {
        match parse_line(line) {
            Some(s) => parts.push((s.severity.to_ascii_lowercase(), s.message.to_string())),
            None => {
                if let Some(last) = parts.last_mut() {
                    last.1.push('\n');
                    last.1.push_str(line.trim_end_matches('\r'));
                }
            }
        }
    }
    for (name, value) in &parts {
        // A STATEMENT line is the statement that caused the message: csvlog's `query`.
        let name = if name == "statement" { "query" } else { name };
        ev.push(name, name, value, Kind::Str, Section::Data);
    }
    message::parse(&parts[0].1, ev);
    Ok(())
}

#[cfg(test)]
mod tests;
