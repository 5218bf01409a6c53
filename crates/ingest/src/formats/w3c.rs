//! W3C extended log files: IIS 6 to 10 (and the Advanced Logging module), HTTP.sys, and other
//! servers that write them. Records are read by the `#Fields:` directive in force, which may
//! change mid-file; a file whose times have no date takes it from `#Date:`; `#GMT-Offset:`
//! says the zone of its times. Field names are the W3C ones Sigma's `webserver` rules use,
//! with `cs(User-Agent)` as `cs-user-agent` (its path keeps the original); docs/sources/web.md.

use super::text::{iso_ns, percent_decoded, put_role, text};
use super::text::{readable, stamp};
use super::{
    DecodeError, Fit, Format, Head, Hooks, Layout, Opening, RecordCx, Stamp, finish_event,
};
use crate::framing::{Framer, LineFramer, Piece};
use crate::unit::Unit;
use dwell_core::entity::{account, host, ip};
use dwell_core::{Entities, EntityKind, Event, Kind, Problem, Record, Role, Section};
use jiff::tz::TimeZone;
use std::borrow::Cow;
use std::sync::Arc;

/// W3C extended logs.
#[derive(Debug, Clone)]
pub struct W3c {
    tz: TimeZone,
}

impl Default for W3c {
    fn default() -> Self {
        W3c { tz: TimeZone::UTC }
    }
}

const DIRECTIVES: [&str; 4] = ["#Fields:", "#Date:", "#GMT-Offset:", "#Software:"];

/// Lines, remembering the latest of each directive that decoding needs.
struct W3cFramer {
    lines: LineFramer,
    /// `#Fields:`, `#Date:`, `#GMT-Offset:` and `#Software:` lines in force, in that order.
    seen: [Option<Vec<u8>>; 4],
}

impl Framer for W3cFramer {
    fn split(&mut self, buf: &[u8], eof: bool, out: &mut Vec<Piece>) -> usize {
        let from = out.len();
        let used = self.lines.split(buf, eof, out);
        for p in &out[from..] {
            let l = &buf[p.start..p.end];
            if let Some(k) = DIRECTIVES.iter().position(|d| l.starts_with(d.as_bytes())) {
                self.seen[k] = Some(l.to_vec());
            }
        }
        used
    }

    fn position(&self) -> u64 {
        self.lines.position()
    }

    fn drop_record(&mut self) {
        self.lines.drop_record()
    }

    fn header(&self) -> Option<Arc<[u8]>> {
        let mut h = Vec::new();
        for l in self.seen.iter().flatten() {
            h.extend_from_slice(l);
            h.push(b'\n');
        }
        (!h.is_empty()).then(|| h.into())
    }
}

/// The directives in force while a batch is decoded.
#[derive(Default)]
struct State {
    /// (name, original name) per column.
    fields: Vec<(String, String)>,
    date: Option<String>,
    offset: Option<String>,
}

impl State {
    fn directive(&mut self, line: &str) {
        if let Some(f) = line.strip_prefix("#Fields:") {
            self.fields = f
                .split_whitespace()
                .map(|o| (name(o), o.to_string()))
                .collect();
        } else if let Some(d) = line.strip_prefix("#Date:") {
            self.date = d.split_whitespace().next().map(str::to_string);
        } else if let Some(o) = line.strip_prefix("#GMT-Offset:") {
            self.offset = Some(o.trim().to_string());
        }
    }
}

/// `cs(User-Agent)` -> `cs-user-agent`; other names as they are.
fn name(original: &str) -> String {
    match original.split_once('(') {
        Some((prefix, rest)) if rest.ends_with(')') => {
            format!("{prefix}-{}", rest[..rest.len() - 1].to_ascii_lowercase())
        }
        _ => original.to_string(),
    }
}

/// Values separated by runs of spaces; a value may be `"quoted"` with `""` for a quote. Values
/// borrow the line unless they hold an escaped quote: a copy of each cost more than the rest of
/// the record's decoding.
fn values(line: &str) -> Vec<Cow<'_, str>> {
    let s = line.trim();
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(24);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' => i += 1,
            b'"' => {
                let mut owned: Option<String> = None;
                let (mut seg, mut j) = (i + 1, i + 1);
                let tail = loop {
                    match memchr::memchr(b'"', &b[j..]) {
                        // Unclosed: the rest of the line.
                        None => {
                            i = b.len();
                            break &s[seg..];
                        }
                        Some(k) if b.get(j + k + 1) == Some(&b'"') => {
                            let q = j + k;
                            owned.get_or_insert_with(String::new).push_str(&s[seg..=q]);
                            (seg, j) = (q + 2, q + 2);
                        }
                        Some(k) => {
                            i = j + k + 1;
                            break &s[seg..j + k];
                        }
                    }
                };
                out.push(match owned {
                    Some(mut o) => {
                        o.push_str(tail);
                        Cow::Owned(o)
                    }
                    None => Cow::Borrowed(tail),
                });
            }
            _ => {
                let start = i;
                while i < b.len() && b[i] != b' ' && b[i] != b'\t' {
                    i += 1;
                }
                out.push(Cow::Borrowed(&s[start..i]));
            }
        }
    }
    out
}

impl W3c {
    fn record(&self, st: &State, line: &str, ev: &mut Event) -> Result<(), String> {
        if st.fields.is_empty() {
            return Err("a record before any #Fields: directive".into());
        }
        let vals = values(line);
        if vals.len() != st.fields.len() {
            return Err(format!(
                "{} values for the {} fields of the #Fields: directive in force",
                vals.len(),
                st.fields.len()
            ));
        }
        let (mut date, mut time, mut local) = (st.date.as_deref(), None, false);
        for ((n, original), v) in st.fields.iter().zip(&vals) {
            let v: &str = v;
            match n.as_str() {
                "date" => date = Some(v),
                "time" => time = Some(v),
                "date-local" => {
                    date = Some(v);
                    local = true;
                }
                "time-local" => {
                    time = Some(v);
                    local = true;
                }
                _ => {}
            }
            if v == "-" {
                continue;
            }
            let kind = if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
                Kind::Num
            } else {
                Kind::Str
            };
            ev.push(n, original, v, kind, Section::Data);
            if matches!(n.as_str(), "cs-uri-query" | "cs-uri-stem" | "cs-uri")
                && let Some(d) = percent_decoded(v)
            {
                ev.push(n, original, &d, Kind::Str, Section::Data);
            }
        }
        if let (Some(d), Some(t)) = (date, time) {
            // UTC unless the file says otherwise (local fields, a #GMT-Offset).
            let zone = match (&st.offset, local) {
                (Some(o), _) => o.as_str(),
                (None, true) => "",
                (None, false) => "Z",
            };
            put_role(ev, "datetime", &format!("{d}T{t}{zone}"), Role::Time);
        }
        Ok(())
    }
}

impl Format for W3c {
    fn name(&self) -> &'static str {
        "w3c"
    }

    fn describe(&self) -> &'static str {
        "W3C extended logs (IIS, HTTP.sys)"
    }

    fn recognise(&self, head: &Head<'_>) -> Option<Fit> {
        let b = head
            .bytes
            .strip_prefix(&[0xEF, 0xBB, 0xBF][..])
            .unwrap_or(head.bytes);
        [
            &b"#Software:"[..],
            b"#Version:",
            b"#Fields:",
            b"#Date:",
            b"#Start-Date:",
            b"#Remark:",
        ]
        .iter()
        .any(|d| b.starts_with(d))
        .then_some(Fit::Signature)
    }

    fn open(&self, o: &Opening<'_>) -> Result<Option<Arc<dyn Format>>, String> {
        Ok(Some(Arc::new(W3c {
            tz: o.settings.timezone.clone(),
        })))
    }

    fn layout(&self) -> Layout {
        Layout::Stream(|| {
            Box::new(W3cFramer {
                lines: LineFramer::default(),
                seen: Default::default(),
            }) as Box<dyn Framer>
        })
    }

    fn decode_record(
        &self,
        raw: &[u8],
        ev: &mut Event,
        cx: &mut RecordCx<'_>,
    ) -> Result<(), DecodeError> {
        // A record alone has no #Fields: in force; see `decode`.
        let _ = (raw, ev, cx);
        Err(DecodeError {
            offset: 0,
            message: "a W3C record cannot be read without its #Fields: directive".into(),
        })
    }

    fn decode(
        &self,
        unit: &Unit,
        input: u32,
        ev: &mut Event,
        cx: &mut RecordCx<'_>,
        hooks: &mut Hooks<'_>,
    ) {
        let Unit::Records {
            text: bytes,
            pieces,
            header,
            ..
        } = unit
        else {
            return;
        };
        let mut st = State::default();
        if let Some(h) = header {
            for l in String::from_utf8_lossy(h).lines() {
                st.directive(l);
            }
        }
        for p in pieces {
            let line = text(&bytes[p.start..p.end], cx.json);
            if line.starts_with('#') {
                st.directive(&line);
                cx.json.notes.clear();
                continue;
            }
            ev.clear();
            let place = || format!("line {}", p.line);
            if let Err(reason) = self.record(&st, &line, ev) {
                cx.json.notes.clear();
                (hooks.on_problem)(Problem {
                    input,
                    place: place(),
                    reason,
                });
                continue;
            }
            ev.line = p.line;
            for note in cx.json.notes.drain(..) {
                (hooks.on_problem)(Problem {
                    input,
                    place: place(),
                    reason: note,
                });
            }
            finish_event(self, ev, input, place, hooks);
            (hooks.on_event)(ev, &bytes[p.start..p.end]);
        }
    }

    fn timestamp(&self, ev: &Event) -> Stamp {
        stamp(ev, "date time", |t| readable(iso_ns(t, &self.tz)))
    }

    fn mapping(&self) -> &'static str {
        "sources:\n  - logsource: {category: webserver}\n    format: w3c\n"
    }

    fn entities(&self, r: &Record, computer: &str, out: &mut Entities) {
        let h = host(computer).or_else(|| r.get("s-computername").and_then(host));
        out.host = h.clone();
        out.add(EntityKind::Host, h);
        out.account = r.get("cs-username").and_then(|u| account(u, None));
        out.add(EntityKind::Account, out.account.clone());
        out.add(EntityKind::Ip, r.get("c-ip").and_then(ip));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_split_on_runs_of_spaces_and_honour_quotes() {
        assert_eq!(
            values(r#"a  b "c ""d"" e" -"#),
            ["a", "b", r#"c "d" e"#, "-"]
        );
        assert_eq!(name("cs(User-Agent)"), "cs-user-agent");
        assert_eq!(name("sc-status"), "sc-status");
    }

    #[test]
    fn records_follow_the_fields_in_force() {
        let mut st = State::default();
        // Directives hold until changed, in whatever order they come.
        st.directive("#Date: 2000-10-09 16:44:49");
        st.directive("#Fields: time c-ip cs-method cs-uri-stem sc-status");
        let w = W3c::default();
        let mut ev = Event::default();
        w.record(&st, "17:30:02 10.1.2.3 GET /x.asp 200", &mut ev)
            .unwrap();
        assert_eq!(ev.role(Role::Time), Some("2000-10-09T17:30:02Z"));
        assert_eq!(ev.get("cs-method"), Some("GET"));
        let e = w
            .record(&st, "17:30:02 10.1.2.3 GET", &mut Event::default())
            .unwrap_err();
        assert!(e.contains("3 values for the 5 fields"), "{e}");
        st.directive("#GMT-Offset: -0800");
        let mut ev = Event::default();
        w.record(&st, "17:30:02 10.1.2.3 GET /x.asp 200", &mut ev)
            .unwrap();
        assert_eq!(
            w.timestamp(&ev),
            Stamp::At(iso_ns("2000-10-10T01:30:02Z", &TimeZone::UTC).unwrap())
        );
    }

    #[test]
    fn a_fields_change_holds_across_batches() {
        use crate::{Decoder, FileSource, Found, Gather, Registry, Source};
        // Two blocks of records with the columns in different orders, each larger than a
        // batch, so that batches start far from the #Fields: line they are read by.
        let mut text = String::from("#Software: Microsoft Internet Information Services 10.0\n");
        text.push_str("#Fields: date time cs-method cs-uri-stem sc-status\n");
        for i in 0..25000 {
            text.push_str(&format!(
                "2024-04-08 10:00:00 GET /first/{i:06}/padding-padding-padding 200\n"
            ));
        }
        text.push_str("#Fields: sc-status cs-uri-stem cs-method date time\n");
        for i in 0..25000 {
            text.push_str(&format!(
                "200 /second/{i:06}/padding-padding-padding GET 2024-04-09 11:00:00\n"
            ));
        }
        assert!(text.len() > 2 * (512 << 10));
        let mut feed = Gather::default();
        FileSource::new(
            vec![Found::memory("u_ex.log", text.as_bytes())],
            Registry::builtin(),
        )
        .run(&mut feed);
        assert!(feed.batches.len() >= 3, "{} batches", feed.batches.len());
        let mut decoder = Decoder::default();
        let (mut n, mut second) = (0, 0);
        for b in &feed.batches {
            decoder.decode(
                b,
                &mut |ev| {
                    n += 1;
                    assert_eq!(
                        (ev.get("cs-method"), ev.get("sc-status")),
                        (Some("GET"), Some("200"))
                    );
                    if ev
                        .get("cs-uri-stem")
                        .is_some_and(|u| u.starts_with("/second/"))
                    {
                        second += 1;
                        assert_eq!(ev.role(Role::Time), Some("2024-04-09T11:00:00Z"));
                    }
                },
                &mut |p| panic!("{p:?}"),
            );
        }
        assert_eq!((n, second), (50000, 25000));
    }
}
