//! Detection writers: a readable terminal table, a CSV timeline and JSON lines.
//!
//! Column sets are part of dwell's command-line contract (see docs/output.md); add columns
//! only at the end.

use crate::detection::Detection;
use dwell_sigma::Level;
use std::io::{self, Write};

/// What the writers need to know about a rule.
#[derive(Debug, Clone, Default)]
pub struct RuleView {
    pub id: String,
    pub title: String,
    pub level: Option<Level>,
    pub status: String,
    pub tags: Vec<String>,
    pub path: String,
    /// For correlation rules: the correlation type.
    pub correlation: Option<String>,
}

/// Output formats of `dwell hunt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Jsonl,
    /// JSON lines with Timesketch's `message`, `datetime`, `timestamp` (µs) and
    /// `timestamp_desc` first, then the JSONL fields.
    Timesketch,
    /// OCSF 1.3 Detection Finding objects, one per line.
    Ocsf,
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 15] = [
    "datetime",
    "timestamp",
    "timestamp_desc",
    "message",
    "level",
    "rule_title",
    "rule_id",
    "computer",
    "channel",
    "event_id",
    "record_id",
    "source",
    "tags",
    "matched",
    "rule_path",
];

/// Writes detections in one format.
pub struct Writer<'a, W: Write> {
    format: Format,
    out: W,
    rules: &'a [RuleView],
    inputs: &'a [String],
    color: bool,
    width: usize,
    written: usize,
}

impl<'a, W: Write> Writer<'a, W> {
    /// `width` is the terminal width for the table (ignored by the other formats).
    pub fn new(
        format: Format,
        out: W,
        rules: &'a [RuleView],
        inputs: &'a [String],
        color: bool,
        width: usize,
    ) -> Self {
        Writer {
            format,
            out,
            rules,
            inputs,
            color,
            width: width.max(80),
            written: 0,
        }
    }

    pub fn write(&mut self, d: &Detection) -> io::Result<()> {
        if self.written == 0 {
            self.header()?;
        }
        self.written += 1;
        match self.format {
            Format::Jsonl | Format::Timesketch => self.jsonl(d),
            Format::Ocsf => self.ocsf(d),
            Format::Csv => self.csv(d),
            Format::Table => self.table(d),
        }
    }

    /// Flushes; writes the CSV header even when there was nothing to write.
    pub fn finish(mut self) -> io::Result<W> {
        if self.written == 0 && self.format == Format::Csv {
            self.header()?;
        }
        self.out.flush()?;
        Ok(self.out)
    }

    fn header(&mut self) -> io::Result<()> {
        match self.format {
            Format::Csv => writeln!(self.out, "{}", CSV_COLUMNS.join(",")),
            Format::Table => {
                let line = format!(
                    "{:<20}  {:<8}  {:<48}  {:<18}  {:<16}  DETAILS",
                    "TIME (UTC)", "LEVEL", "RULE", "COMPUTER", "EVENT"
                );
                if self.color {
                    writeln!(self.out, "\x1b[1m{line}\x1b[0m")
                } else {
                    writeln!(self.out, "{line}")
                }
            }
            Format::Jsonl | Format::Timesketch | Format::Ocsf => Ok(()),
        }
    }

    fn rule(&self, d: &Detection) -> &RuleView {
        &self.rules[d.rule as usize]
    }

    fn jsonl(&mut self, d: &Detection) -> io::Result<()> {
        let r = self.rule(d);
        let mut s = String::with_capacity(d.event.len() + 512);
        if self.format == Format::Timesketch {
            // Timesketch reads `timestamp` as microseconds, so the RFC 3339 text is only
            // in `datetime` here.
            s.push_str("{\"message\":");
            push_json(&mut s, &self.message(d).1);
            s.push_str(",\"datetime\":");
            push_time(&mut s, d.timestamp);
            s.push_str(",\"timestamp\":");
            push_num(&mut s, d.timestamp.map(dwell_ingest::time::micros));
            s.push_str(",\"timestamp_desc\":\"Event Recorded\"");
        } else {
            s.push_str("{\"timestamp\":");
            push_time(&mut s, d.timestamp);
        }
        s.push_str(",\"rule_id\":");
        push_json(&mut s, &r.id);
        s.push_str(",\"rule_title\":");
        push_json(&mut s, &r.title);
        s.push_str(",\"level\":");
        push_json(&mut s, r.level.map_or("", |l| l.as_str()));
        s.push_str(",\"status\":");
        push_json(&mut s, &r.status);
        s.push_str(",\"tags\":[");
        for (i, t) in r.tags.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            push_json(&mut s, t);
        }
        s.push_str("],\"computer\":");
        push_json(&mut s, &d.computer);
        s.push_str(",\"channel\":");
        push_json(&mut s, &d.channel);
        s.push_str(",\"event_id\":");
        push_num(&mut s, d.event_id);
        s.push_str(",\"record_id\":");
        s.push_str(&d.record.to_string());
        s.push_str(",\"source\":");
        push_json(&mut s, &self.inputs[d.input as usize]);
        s.push_str(",\"provider\":");
        push_json(&mut s, &d.provider);
        s.push_str(",\"rule_path\":");
        push_json(&mut s, &r.path);
        s.push_str(",\"matched\":");
        push_json_object(&mut s, d.matched.iter().map(|(k, v)| (k, Some(v))));
        s.push_str(",\"event\":");
        s.push_str(&d.event);
        if let Some(c) = &d.correlation {
            s.push_str(",\"correlation\":{\"type\":");
            push_json(&mut s, r.correlation.as_deref().unwrap_or(""));
            s.push_str(",\"group_by\":");
            push_json_object(&mut s, c.group.iter().map(|(k, v)| (k, v.as_ref())));
            s.push_str(",\"window\":{\"start\":");
            push_json(&mut s, &dwell_ingest::time::format(c.start));
            s.push_str(",\"end\":");
            push_json(&mut s, &dwell_ingest::time::format(c.end));
            s.push_str("},\"value\":");
            s.push_str(&number(c.value));
            s.push_str(",\"members\":[");
            for (i, m) in c.members.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                let mr = &self.rules[m.rule as usize];
                s.push_str("{\"rule_id\":");
                push_json(&mut s, &mr.id);
                s.push_str(",\"rule_title\":");
                push_json(&mut s, &mr.title);
                s.push_str(",\"timestamp\":");
                push_json(&mut s, &dwell_ingest::time::format(m.time));
                s.push_str(",\"source\":");
                push_json(&mut s, &self.inputs[m.input as usize]);
                s.push_str(",\"record_id\":");
                s.push_str(&m.record.to_string());
                s.push('}');
            }
            s.push_str("],\"more_members\":");
            s.push_str(&c.more_members.to_string());
            s.push('}');
        }
        s.push_str("}\n");
        self.out.write_all(s.as_bytes())
    }

    /// The `matched` pairs as text, and the one-line message timelines show.
    fn message(&self, d: &Detection) -> (String, String) {
        let r = self.rule(d);
        let level = r.level.map_or("", |l| l.as_str());
        let mut matched = d
            .matched
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" | ");
        if let Some(c) = &d.correlation {
            let n = c.members.len() + c.more_members;
            matched = if matched.is_empty() {
                format!("{n} matches in the window")
            } else {
                format!("{matched} | {n} matches in the window")
            };
        }
        let message = if matched.is_empty() {
            format!("[{level}] {} on {}", r.title, d.computer)
        } else {
            format!("[{level}] {} on {}: {matched}", r.title, d.computer)
        };
        (matched, message)
    }

    /// An OCSF 1.3 Detection Finding (class 2004): the rule as the analytic, its ATT&CK
    /// tags as attacks, the host as the device and the event as evidence.
    fn ocsf(&mut self, d: &Detection) -> io::Result<()> {
        let r = self.rule(d);
        let (_, message) = self.message(d);
        let (severity_id, severity) = match r.level {
            None => (0, "Unknown"),
            Some(Level::Informational) => (1, "Informational"),
            Some(Level::Low) => (2, "Low"),
            Some(Level::Medium) => (3, "Medium"),
            Some(Level::High) => (4, "High"),
            Some(Level::Critical) => (5, "Critical"),
        };
        let mut s = String::with_capacity(d.event.len() + 1024);
        s.push_str("{\"activity_id\":1,\"activity_name\":\"Create\",\"category_uid\":2,\"category_name\":\"Findings\",\"class_uid\":2004,\"class_name\":\"Detection Finding\",\"type_uid\":200401,\"type_name\":\"Detection Finding: Create\",\"time\":");
        push_num(&mut s, d.timestamp.map(|t| t.div_euclid(1_000_000)));
        s.push_str(&format!(",\"severity_id\":{severity_id},\"severity\":\"{severity}\",\"status_id\":1,\"status\":\"New\",\"message\":"));
        push_json(&mut s, &message);
        s.push_str(",\"metadata\":{\"version\":\"1.3.0\",\"product\":{\"name\":\"dwell\",\"vendor_name\":\"dwell\",\"version\":");
        push_json(&mut s, env!("CARGO_PKG_VERSION"));
        s.push_str("},\"log_name\":");
        push_json(&mut s, &d.channel);
        s.push_str(",\"original_time\":");
        push_time(&mut s, d.timestamp);
        s.push_str("},\"finding_info\":{\"uid\":");
        push_json(
            &mut s,
            &format!("{}:{}:{}", self.inputs[d.input as usize], d.record, r.id),
        );
        s.push_str(",\"title\":");
        push_json(&mut s, &r.title);
        s.push_str(",\"types\":[\"Sigma\"],\"analytic\":{\"uid\":");
        push_json(&mut s, &r.id);
        s.push_str(",\"name\":");
        push_json(&mut s, &r.title);
        s.push_str(",\"type_id\":1,\"type\":\"Rule\"},\"attacks\":[");
        let mut first = true;
        for tag in &r.tags {
            let Some(rest) = tag.strip_prefix("attack.") else {
                continue;
            };
            let lower = rest.to_ascii_lowercase().replace('_', "-");
            let technique = lower.len() > 1
                && lower.starts_with('t')
                && lower.as_bytes()[1].is_ascii_digit()
                && lower[1..].chars().all(|c| c.is_ascii_digit() || c == '.');
            let item = if let Some(uid) = tactic_uid(&lower) {
                format!("{{\"tactic\":{{\"name\":\"{lower}\",\"uid\":\"{uid}\"}}}}")
            } else if matches!(lower.as_str(), "stealth" | "defense-impairment") {
                // Newer ATT&CK tactics: named, without an id dwell can vouch for.
                format!("{{\"tactic\":{{\"name\":\"{lower}\"}}}}")
            } else if technique {
                format!(
                    "{{\"technique\":{{\"uid\":\"{}\"}}}}",
                    lower.to_ascii_uppercase()
                )
            } else {
                continue;
            };
            if !first {
                s.push(',');
            }
            first = false;
            s.push_str(&item);
        }
        s.push_str("]},\"device\":{\"hostname\":");
        push_json(&mut s, &d.computer);
        s.push_str(",\"type_id\":0},\"evidences\":[{\"data\":");
        s.push_str(&d.event);
        s.push_str("}],\"unmapped\":{\"event_id\":");
        push_num(&mut s, d.event_id);
        s.push_str(",\"record_id\":");
        s.push_str(&d.record.to_string());
        s.push_str(",\"source\":");
        push_json(&mut s, &self.inputs[d.input as usize]);
        s.push_str(",\"rule_path\":");
        push_json(&mut s, &r.path);
        s.push_str(",\"matched\":");
        push_json_object(&mut s, d.matched.iter().map(|(k, v)| (k, Some(v))));
        s.push_str("}}\n");
        self.out.write_all(s.as_bytes())
    }

    fn csv(&mut self, d: &Detection) -> io::Result<()> {
        let r = self.rule(d);
        let level = r.level.map_or("", |l| l.as_str());
        let (matched, message) = self.message(d);
        let cols = [
            d.timestamp
                .map(dwell_ingest::time::format)
                .unwrap_or_default(),
            d.timestamp
                .map(|t| dwell_ingest::time::micros(t).to_string())
                .unwrap_or_default(),
            "Event Recorded".to_string(),
            message,
            level.to_string(),
            r.title.clone(),
            r.id.clone(),
            d.computer.clone(),
            d.channel.clone(),
            d.event_id.map(|e| e.to_string()).unwrap_or_default(),
            d.record.to_string(),
            self.inputs[d.input as usize].clone(),
            r.tags.join(";"),
            matched,
            r.path.clone(),
        ];
        let mut line = String::with_capacity(512);
        for (i, c) in cols.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            csv_field(&mut line, c);
        }
        line.push('\n');
        self.out.write_all(line.as_bytes())
    }

    fn table(&mut self, d: &Detection) -> io::Result<()> {
        let r = self.rule(d);
        let time = d
            .timestamp
            .map(|t| {
                let s = dwell_ingest::time::format(t);
                format!("{} {}", &s[..10], &s[11..19])
            })
            .unwrap_or_else(|| "-".into());
        let event = match d.event_id {
            Some(e) => format!("{}/{e}", short_channel(&d.channel)),
            None => short_channel(&d.channel).to_string(),
        };
        let mut details = d
            .matched
            .iter()
            .map(|(k, v)| format!("{k}={}", one_line(v)))
            .collect::<Vec<_>>()
            .join("  ");
        if let Some(c) = &d.correlation {
            details = format!("[{} matches] {details}", c.members.len() + c.more_members);
        }
        let used = 20 + 2 + 8 + 2 + 48 + 2 + 18 + 2 + 16 + 2;
        let room = self.width.saturating_sub(used).max(20);
        let label = match r.level {
            Some(Level::Informational) => "INFO".to_string(),
            Some(l) => l.as_str().to_uppercase(),
            None => "-".to_string(),
        };
        let level_cell = format!("{label:<8}");
        let level_cell = if self.color {
            format!("{}{level_cell}\x1b[0m", level_color(r.level))
        } else {
            level_cell
        };
        writeln!(
            self.out,
            "{:<20}  {}  {:<48}  {:<18}  {:<16}  {}",
            time,
            level_cell,
            clip(&r.title, 48),
            clip(&d.computer, 18),
            clip(&event, 16),
            clip(&details, room)
        )
    }
}

/// A time as RFC 3339 text, or `null`.
fn push_time(out: &mut String, t: Option<i64>) {
    match t {
        Some(t) => push_json(out, &dwell_ingest::time::format(t)),
        None => out.push_str("null"),
    }
}

/// A number, or `null`.
fn push_num(out: &mut String, v: Option<impl std::fmt::Display>) {
    match v {
        Some(v) => out.push_str(&v.to_string()),
        None => out.push_str("null"),
    }
}

/// ATT&CK tactic ids, for OCSF.
fn tactic_uid(name: &str) -> Option<&'static str> {
    Some(match name {
        "reconnaissance" => "TA0043",
        "resource-development" => "TA0042",
        "initial-access" => "TA0001",
        "execution" => "TA0002",
        "persistence" => "TA0003",
        "privilege-escalation" => "TA0004",
        "defense-evasion" => "TA0005",
        "credential-access" => "TA0006",
        "discovery" => "TA0007",
        "lateral-movement" => "TA0008",
        "collection" => "TA0009",
        "exfiltration" => "TA0010",
        "command-and-control" => "TA0011",
        "impact" => "TA0040",
        _ => return None,
    })
}

fn level_color(l: Option<Level>) -> &'static str {
    match l {
        Some(Level::Critical) => "\x1b[1;35m",
        Some(Level::High) => "\x1b[1;31m",
        Some(Level::Medium) => "\x1b[33m",
        Some(Level::Low) => "\x1b[32m",
        _ => "\x1b[2m",
    }
}

/// A number as JSON: integers without a fraction.
fn number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v.is_finite() {
        format!("{v}")
    } else {
        "null".into()
    }
}

/// `Microsoft-Windows-Sysmon/Operational` -> `Sysmon`.
pub fn short_channel(c: &str) -> &str {
    let c = c.strip_prefix("Microsoft-Windows-").unwrap_or(c);
    c.strip_suffix("/Operational").unwrap_or(c)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Appends `s` as a JSON string literal.
pub fn push_json(out: &mut String, s: &str) {
    out.push('"');
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        if esc.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(esc);
        }
        last = i + 1;
    }
    out.push_str(&s[last..]);
    out.push('"');
}

/// Writes `{"k":"v",…}`; a `None` value is written as `null`.
pub(crate) fn push_json_object<'a>(
    out: &mut String,
    pairs: impl Iterator<Item = (&'a String, Option<&'a String>)>,
) {
    out.push('{');
    for (i, (k, v)) in pairs.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json(out, k);
        out.push(':');
        match v {
            Some(v) => push_json(out, v),
            None => out.push_str("null"),
        }
    }
    out.push('}');
}

pub(crate) fn csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<RuleView>, Vec<String>, Detection) {
        let rules = vec![RuleView {
            id: "r-1".into(),
            title: "Suspicious, \"quoted\" thing".into(),
            level: Some(Level::High),
            status: "test".into(),
            tags: vec!["attack.execution".into(), "attack.t1059".into()],
            path: "rules/x.yml".into(),
            correlation: None,
        }];
        let inputs = vec!["logs/a.evtx".to_string()];
        let d = Detection {
            timestamp: Some(1_700_000_000_123_456_000),
            rule: 0,
            input: 0,
            record: 42,
            computer: "host1".into(),
            channel: "Microsoft-Windows-Sysmon/Operational".into(),
            event_id: Some(1),
            provider: "Microsoft-Windows-Sysmon".into(),
            matched: vec![("CommandLine".into(), "cmd /c \"x\"\nnext".into())],
            event: "{\"CommandLine\":\"cmd\"}".into(),
            event_key: 1,
            captured: Vec::new(),
            correlation: None,
        };
        (rules, inputs, d)
    }

    #[test]
    fn jsonl_is_valid_json_with_the_contract_fields() {
        let (rules, inputs, d) = sample();
        let mut w = Writer::new(Format::Jsonl, Vec::new(), &rules, &inputs, false, 100);
        w.write(&d).unwrap();
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["timestamp"], "2023-11-14T22:13:20.123456Z");
        assert_eq!(v["rule_id"], "r-1");
        assert_eq!(v["level"], "high");
        assert_eq!(v["tags"][1], "attack.t1059");
        assert_eq!(v["computer"], "host1");
        assert_eq!(v["event_id"], 1);
        assert_eq!(v["record_id"], 42);
        assert_eq!(v["source"], "logs/a.evtx");
        assert_eq!(v["matched"]["CommandLine"], "cmd /c \"x\"\nnext");
        assert_eq!(v["event"]["CommandLine"], "cmd");
    }

    #[test]
    fn csv_quotes_and_header() {
        let (rules, inputs, d) = sample();
        let mut w = Writer::new(Format::Csv, Vec::new(), &rules, &inputs, false, 100);
        w.write(&d).unwrap();
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        let mut lines = out.splitn(2, '\n');
        assert_eq!(lines.next().unwrap(), CSV_COLUMNS.join(","));
        let row = lines.next().unwrap();
        assert!(row.starts_with("2023-11-14T22:13:20.123456Z,1700000000123456,Event Recorded,"));
        assert!(row.contains("\"Suspicious, \"\"quoted\"\" thing\""));
        let empty = Writer::new(Format::Csv, Vec::new(), &rules, &inputs, false, 100);
        let out = String::from_utf8(empty.finish().unwrap()).unwrap();
        assert_eq!(out.trim(), CSV_COLUMNS.join(","));
    }

    #[test]
    fn table_is_one_line_per_detection() {
        let (rules, inputs, d) = sample();
        let mut w = Writer::new(Format::Table, Vec::new(), &rules, &inputs, true, 200);
        w.write(&d).unwrap();
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(out.lines().count(), 2);
        assert!(out.contains("Sysmon/1"));
        assert!(out.contains("\x1b[1;31mHIGH"));
        assert!(out.contains("CommandLine=cmd /c \"x\" next"));
    }
}
