//! Linux audit logs (`/var/log/audit/audit.log`, raw and ENRICHED): `type=SYSCALL
//! msg=audit(1364481363.243:24287): key=value ...`. The records of one event (SYSCALL, EXECVE,
//! CWD, PATH, PROCTITLE...) share `audit(time:serial)` and are consecutive, so they are joined
//! into one event whose fields keep auditd's own names, as SigmaHQ's auditd rules use them:
//! `type` holds every record type of the event, `a0`.. the EXECVE arguments, `name` each PATH.
//! Hex-encoded values (arguments with spaces, `proctitle`) are decoded; the ENRICHED format's
//! interpreted fields after `\x1d` (`SYSCALL=openat`, `AUID="root"`) are fields too; the
//! quoted `msg='op=... acct="root" res=success'` of user records is split into its fields.

use super::text::{put, put_role, text};
use super::text::{set_host, stamp};
use super::{DecodeError, Fit, Format, Head, Layout, RecordCx, Stamp};
use crate::framing::{Framer, KeyedLines};
use dwell_core::entity::{account, ip};
use dwell_core::{Entities, EntityKind, Event, Kind, Record, Role, Section};

/// Linux audit logs.
pub struct Auditd;

/// `msg=audit(...)`'s inside: the event's key.
fn audit_id(line: &[u8]) -> Option<&[u8]> {
    let at = memchr::memmem::find(line, b"msg=audit(")? + 10;
    let end = memchr::memchr(b')', &line[at..])?;
    Some(&line[at..at + end])
}

fn frame() -> Box<dyn Framer> {
    Box::new(KeyedLines::new(audit_id))
}

/// Fields whose unquoted values auditd hex-encodes when they hold spaces or odd bytes; the
/// arguments `a0`.. only in EXECVE records (in SYSCALL they are register values).
fn may_be_hex(record: &str, key: &str) -> bool {
    matches!(
        key,
        "proctitle" | "name" | "cwd" | "comm" | "exe" | "data" | "cmd" | "path" | "acct" | "key"
    ) || (record == "EXECVE"
        && key.len() > 1
        && key.starts_with('a')
        && key[1..].bytes().all(|b| b.is_ascii_digit()))
}

fn unhex(v: &str) -> Option<String> {
    if v.len() < 2 || !v.len().is_multiple_of(2) || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> = (0..v.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&v[i..i + 2], 16).unwrap_or(b'?'))
        .map(|b| if b == 0 { b' ' } else { b })
        .collect();
    let s = String::from_utf8(bytes).ok()?.trim_end().to_string();
    // Only text: a number that happens to be even-length hex (`a1=553ac0`) stays as written.
    (s.chars().all(|c| !c.is_control() || c == '\t') && s.chars().any(|c| !c.is_ascii_hexdigit()))
        .then_some(s)
}

/// Splits `k=v k="v w" k='v'` pairs; words without `=` (`old auid=..`, `avc: denied`) are
/// joined to the next key as auditd writes them (`old auid` is the key `old-auid`).
fn pairs(s: &str, mut each: impl FnMut(&str, &str, bool)) {
    let b = s.as_bytes();
    let mut i = 0;
    let mut pending: Option<&str> = None;
    while i < b.len() {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i] != b' ' && b[i] != b'=' {
            i += 1;
        }
        let word = &s[start..i];
        if i >= b.len() || b[i] == b' ' {
            pending = Some(word).filter(|w| !w.is_empty() && !w.ends_with(':'));
            continue;
        }
        i += 1;
        let (value, quoted) = match b.get(i) {
            Some(&q @ (b'"' | b'\'')) => {
                let end = s[i + 1..].find(q as char).map_or(s.len(), |e| i + 1 + e);
                let v = &s[i + 1..end];
                i = (end + 1).min(s.len());
                (v, true)
            }
            _ => {
                let st = i;
                while i < b.len() && b[i] != b' ' {
                    i += 1;
                }
                (&s[st..i], false)
            }
        };
        match pending.take() {
            Some(p) => each(&format!("{p}-{word}"), value, quoted),
            None => each(word, value, quoted),
        }
    }
}

fn push_pair(ev: &mut Event, record: &str, key: &str, value: &str, quoted: bool) {
    if key == "msg" && quoted && value.contains('=') {
        // A user record's message: its own pairs.
        pairs(value, |k, v, q| push_pair(ev, record, k, v, q));
        return;
    }
    let decoded = if !quoted && may_be_hex(record, key) {
        unhex(value)
    } else {
        None
    };
    let v = decoded.as_deref().unwrap_or(value);
    let kind = if !quoted && !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()) {
        Kind::Num
    } else {
        Kind::Str
    };
    ev.push(key, key, v, kind, Section::Data);
}

impl Format for Auditd {
    fn name(&self) -> &'static str {
        "auditd"
    }

    fn describe(&self) -> &'static str {
        "Linux audit logs (audit.log, raw and ENRICHED)"
    }

    fn recognise(&self, head: &Head<'_>) -> Option<Fit> {
        let first = head
            .bytes
            .split(|b| *b == b'\n')
            .find(|l| !l.iter().all(u8::is_ascii_whitespace))?;
        let body = first.strip_prefix(b"node=").map_or(first, |r| {
            r.iter().position(|b| *b == b' ').map_or(r, |i| &r[i + 1..])
        });
        (body.starts_with(b"type=") && audit_id(body).is_some()).then_some(Fit::Signature)
    }

    fn layout(&self) -> Layout {
        Layout::Stream(frame)
    }

    fn decode_record(
        &self,
        raw: &[u8],
        ev: &mut Event,
        cx: &mut RecordCx<'_>,
    ) -> Result<(), DecodeError> {
        let all = text(raw, cx.json);
        let mut offset = 0;
        for line in all.split('\n') {
            decode_line(line, ev).map_err(|message| DecodeError { offset, message })?;
            offset += line.len() + 1;
        }
        Ok(())
    }

    fn timestamp(&self, ev: &Event) -> Stamp {
        stamp(ev, "audit_time", dwell_core::time::parse_checked)
    }

    fn mapping(&self) -> &'static str {
        "sources:\n  - logsource: {product: linux, service: auditd}\n    format: auditd\n"
    }

    fn entities(&self, r: &Record, computer: &str, out: &mut Entities) {
        set_host(computer, out);
        let user = ["AUID", "acct", "UID"]
            .iter()
            .find_map(|f| r.get(f).filter(|u| !u.is_empty() && *u != "unset"));
        out.account = user.and_then(|u| account(u, None));
        out.add(EntityKind::Account, out.account.clone());
        out.add(EntityKind::Ip, r.get("addr").and_then(ip));
    }
}

/// One record line into the event; the first line also gives the event's time, serial and
/// node.
fn decode_line(line: &str, ev: &mut Event) -> Result<(), String> {
    let line = line.trim_end_matches('\r');
    let (raw, enriched) = match line.split_once('\x1d') {
        Some((r, e)) => (r, Some(e)),
        None => (line, None),
    };
    let (node, body) = match raw.strip_prefix("node=") {
        Some(r) => r.split_once(' ').ok_or("a node= with nothing after it")?,
        None => ("", raw),
    };
    let rest = body
        .strip_prefix("type=")
        .ok_or("not an audit record: no type= at its start")?;
    let (kind, rest) = rest
        .split_once(' ')
        .ok_or("an audit record without msg=audit(...)")?;
    if kind.is_empty() {
        return Err("an audit record with an empty type".into());
    }
    let rest = rest
        .trim_start()
        .strip_prefix("msg=audit(")
        .ok_or("an audit record without msg=audit(...)")?;
    let (id, rest) = rest.split_once(')').ok_or("msg=audit( is not closed")?;
    let (time, serial) = id
        .split_once(':')
        .ok_or_else(|| format!("audit({id}) has no serial number (time:serial)"))?;
    if time.is_empty() || time.parse::<f64>().is_err() || serial.parse::<u64>().is_err() {
        return Err(format!("audit({id}) is not time:serial"));
    }
    if ev.role(Role::Time).is_none() {
        put_role(ev, "audit_time", time, Role::Time);
        ev.push("serial", "serial", serial, Kind::Num, Section::Header);
        if !node.is_empty() {
            put_role(ev, "node", node, Role::Host);
        }
    }
    put(ev, "type", kind);
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    pairs(rest, |k, v, q| push_pair(ev, kind, k, v, q));
    if let Some(e) = enriched {
        pairs(e, |k, v, _| {
            ev.push(k, k, v, Kind::Str, Section::Data);
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(text: &str) -> Result<Event, String> {
        let mut ev = Event::default();
        for l in text.lines() {
            decode_line(l, &mut ev)?;
        }
        Ok(ev)
    }

    fn all<'e>(ev: &'e Event, name: &str) -> Vec<&'e str> {
        ev.fields
            .iter()
            .filter(|f| ev.name(f) == name)
            .map(|f| ev.value(f))
            .collect()
    }

    #[test]
    fn records_of_one_event_join_with_auditds_names() {
        let ev = event(concat!(
            "type=SYSCALL msg=audit(1364481363.243:24287): arch=c000003e syscall=59 success=yes exe=\"/usr/bin/base64\" key=(null)\n",
            "type=EXECVE msg=audit(1364481363.243:24287): argc=3 a0=\"base64\" a1=\"-d\" a2=2F746D702F782062\n",
            "type=PATH msg=audit(1364481363.243:24287): item=0 name=\"/usr/bin/base64\" nametype=NORMAL\n",
            "type=PROCTITLE msg=audit(1364481363.243:24287): proctitle=626173653634002D64"
        ))
        .unwrap();
        assert_eq!(all(&ev, "type"), ["SYSCALL", "EXECVE", "PATH", "PROCTITLE"]);
        assert_eq!(ev.get("a0"), Some("base64"));
        assert_eq!(ev.get("a2"), Some("/tmp/x b"));
        assert_eq!(ev.get("proctitle"), Some("base64 -d"));
        assert_eq!(ev.get("exe"), Some("/usr/bin/base64"));
        assert_eq!(ev.get("serial"), Some("24287"));
        assert_eq!(ev.role(Role::Time), Some("1364481363.243"));
    }

    #[test]
    fn user_messages_and_enriched_fields_are_split() {
        let ev = event("type=ADD_USER msg=audit(1783414573.160:408): pid=2062 uid=0 auid=0 msg='op=add-user acct=\"specimenuser\" exe=\"/usr/bin/useradd\" hostname=? addr=? terminal=? res=success'\x1dUID=\"root\" AUID=\"root\"").unwrap();
        assert_eq!(ev.get("op"), Some("add-user"));
        assert_eq!(ev.get("acct"), Some("specimenuser"));
        assert_eq!(ev.get("res"), Some("success"));
        assert_eq!(ev.get("AUID"), Some("root"));
        let ev = event("type=LOGIN msg=audit(1337845201.174:94983): pid=25443 uid=0 old auid=4294967295 new auid=0").unwrap();
        assert_eq!(
            (ev.get("old-auid"), ev.get("new-auid")),
            (Some("4294967295"), Some("0"))
        );
        // A number that looks like hex stays a number.
        let ev = event("type=SYSCALL msg=audit(1.5:1): a1=553ac0").unwrap();
        assert_eq!(ev.get("a1"), Some("553ac0"));
    }

    #[test]
    fn malformed_records_are_refused_with_a_reason() {
        for (line, why) in [
            ("type=WRONGDATE msg=audit(1337845201): x", "no serial"),
            ("type=EMPTYDATE msg=audit(): x", "no serial"),
            ("type= msg=audit(1337845333.174:94984): x", "empty type"),
            ("msg=audit(1337845201.174:94984): x", "no type="),
        ] {
            let e = event(line).unwrap_err();
            assert!(e.contains(why), "{line}: {e}");
        }
    }
}
