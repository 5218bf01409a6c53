//! The detection writer, a pipeline sink: JSON lines (plain and for Timesketch), a CSV
//! timeline, OCSF findings ([`crate::ocsf`]) and the terminal table ([`crate::table`]).
//!
//! Column sets and fields are part of dwell's command-line contract (see docs/output.md); add
//! columns only at the end. A profile chooses how much of each event goes with it.

use crate::details::{Details, SEPARATOR};
use crate::encode::{
    csv_field_as, message, number, push_json, push_json_object, push_num, push_time, rule_key,
};
use dwell_detect::{Detection, RuleInfo};
use dwell_pipeline::{Sink, SinkError, Tables};
use std::io::{self, Write};

/// Output formats of `dwell hunt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned, coloured lines for a terminal.
    Table,
    /// A timeline, one row per detection.
    Csv,
    /// One JSON object per detection.
    Jsonl,
    /// JSON lines for Timesketch: its `message`, `datetime`, `timestamp` (µs) and
    /// `timestamp_desc` first, then fields of one type each (event data as text).
    Timesketch,
    /// OCSF 1.3 Detection Finding objects, one per line.
    Ocsf,
}

/// How much of each event goes with a detection (CSV, JSONL, Timesketch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The rule, the time, the host and where the event is: no event content.
    Minimal,
    /// With the fields that matched and the event's details (CSV's default).
    Standard,
    /// Standard, and every other field of the event as text (`extra`).
    Verbose,
    /// Standard, and the whole event (JSONL's and Timesketch's default).
    All,
}

impl Profile {
    /// The profile a format uses unless told otherwise.
    pub fn default_for(format: Format) -> Profile {
        match format {
            Format::Csv | Format::Table => Profile::Standard,
            Format::Jsonl | Format::Timesketch | Format::Ocsf => Profile::All,
        }
    }
}

/// The CSV columns of the standard profile, in order.
pub const CSV_COLUMNS: [&str; 17] = [
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
    "details",
    "record",
];

/// The CSV columns of a profile.
pub fn csv_columns(p: Profile) -> Vec<&'static str> {
    match p {
        Profile::Minimal => CSV_COLUMNS
            .iter()
            .copied()
            .filter(|c| !matches!(*c, "tags" | "matched" | "rule_path" | "details"))
            .collect(),
        Profile::Standard => CSV_COLUMNS.to_vec(),
        Profile::Verbose => CSV_COLUMNS.iter().copied().chain(["extra"]).collect(),
        Profile::All => CSV_COLUMNS.iter().copied().chain(["all_fields"]).collect(),
    }
}

/// Writes detections in one format.
pub struct Writer<W: Write> {
    format: Format,
    profile: Profile,
    neutralise: bool,
    details: &'static Details,
    out: W,
    color: bool,
    width: usize,
    written: usize,
    undated: usize,
    /// Input names by index, taken from the run's table at the first detection.
    names: Option<Vec<String>>,
}

/// The event's own record id (Windows: `EventRecordID`), when it is a number.
pub fn record_id(d: &Detection) -> Option<u64> {
    d.ident.as_deref().and_then(|s| s.trim().parse().ok())
}

/// The event's fields as one line of text (`Name: value ¦ ...`), leaving out `skip`.
fn fields_text(d: &Detection, skip: &[String]) -> String {
    d.event
        .iter()
        .filter(|(k, v, _)| !v.is_empty() && !skip.iter().any(|s| s == k))
        .map(|(k, v, _)| {
            format!(
                "{k}: {}",
                v.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .collect::<Vec<_>>()
        .join(SEPARATOR)
}

impl<W: Write> Writer<W> {
    /// `color` and `width` (the terminal's) are for the table only.
    pub fn new(format: Format, out: W, color: bool, width: usize) -> Self {
        Writer {
            format,
            profile: Profile::default_for(format),
            neutralise: true,
            details: Details::builtin(),
            out,
            color,
            width: width.max(80),
            written: 0,
            undated: 0,
            names: None,
        }
    }

    /// Writes with this profile instead of the format's default.
    pub fn profile(mut self, p: Profile) -> Self {
        self.profile = p;
        self
    }

    /// Whether CSV cells a spreadsheet would run as formulas get a leading `'` (the default).
    pub fn neutralise(mut self, on: bool) -> Self {
        self.neutralise = on;
        self
    }

    /// Detections left out because they have no time: Timesketch drops a document without a
    /// `datetime`, and an OCSF finding requires `time`.
    pub fn undated(&self) -> usize {
        self.undated
    }

    /// Writes one detection; `rules` and `inputs` are the tables it indexes.
    pub fn write(
        &mut self,
        d: &Detection,
        rules: &[RuleInfo],
        inputs: &[String],
    ) -> io::Result<()> {
        if d.time.is_none() && matches!(self.format, Format::Timesketch | Format::Ocsf) {
            self.undated += 1;
            return Ok(());
        }
        if self.written == 0 {
            self.header()?;
        }
        self.written += 1;
        let r = &rules[d.rule as usize];
        let source = inputs.get(d.input as usize).map_or("", String::as_str);
        match self.format {
            Format::Jsonl => {
                let line = self.jsonl(d, r, rules, inputs);
                self.out.write_all(line.as_bytes())
            }
            Format::Timesketch => {
                let line = self.timesketch(d, r, source);
                self.out.write_all(line.as_bytes())
            }
            Format::Ocsf => {
                let line = crate::ocsf::finding(d, r, source);
                self.out.write_all(line.as_bytes())
            }
            Format::Csv => self.csv(d, r, source),
            Format::Table => {
                let details = self.details.render(d);
                crate::table::row(&mut self.out, self.color, self.width, d, r, &details)
            }
        }
    }

    /// The destination, to take what was written so far.
    pub fn out_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Flushes; writes the CSV header even when there was nothing to write.
    pub fn finish(mut self) -> io::Result<W> {
        self.end()?;
        Ok(self.out)
    }

    fn end(&mut self) -> io::Result<()> {
        if self.written == 0 && self.format == Format::Csv {
            self.header()?;
        }
        self.out.flush()
    }

    fn header(&mut self) -> io::Result<()> {
        match self.format {
            Format::Csv => writeln!(self.out, "{}", csv_columns(self.profile).join(",")),
            Format::Table => crate::table::header(&mut self.out, self.color),
            Format::Jsonl | Format::Timesketch | Format::Ocsf => Ok(()),
        }
    }

    /// The fields the details show, for `extra` to leave out.
    fn shown(&self, d: &Detection) -> Vec<String> {
        self.details.fields(d)
    }

    fn jsonl(&self, d: &Detection, r: &RuleInfo, rules: &[RuleInfo], inputs: &[String]) -> String {
        let source = |i: u32| inputs.get(i as usize).map_or("", String::as_str);
        let mut s = String::with_capacity(d.event.text_len() + 512);
        s.push_str("{\"timestamp\":");
        push_time(&mut s, d.time);
        s.push_str(",\"rule_id\":");
        push_json(&mut s, &r.id);
        s.push_str(",\"rule_title\":");
        push_json(&mut s, &r.title);
        s.push_str(",\"level\":");
        push_json(&mut s, r.level_str());
        s.push_str(",\"status\":");
        push_json(&mut s, r.status_str());
        s.push_str(",\"tags\":[");
        for (i, t) in r.tags.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            push_json(&mut s, t);
        }
        s.push_str("],\"computer\":");
        push_json(&mut s, &d.host);
        s.push_str(",\"channel\":");
        push_json(&mut s, &d.stream);
        s.push_str(",\"event_id\":");
        push_num(&mut s, d.code);
        s.push_str(",\"record_id\":");
        push_num(&mut s, record_id(d));
        s.push_str(",\"source\":");
        push_json(&mut s, source(d.input));
        s.push_str(",\"provider\":");
        push_json(&mut s, &d.provider);
        s.push_str(",\"rule_path\":");
        push_json(&mut s, &r.path);
        if self.profile != Profile::Minimal {
            s.push_str(",\"matched\":");
            push_json_object(&mut s, d.matched.iter().map(|(k, v)| (k, Some(v))));
        }
        if self.profile == Profile::All {
            s.push_str(",\"event\":");
            d.event.write_json(&mut s);
        }
        if let Some(c) = &d.correlation {
            s.push_str(",\"correlation\":{\"type\":");
            push_json(&mut s, r.correlation().unwrap_or(""));
            s.push_str(",\"group_by\":");
            push_json_object(&mut s, c.group.iter().map(|(k, v)| (k, v.as_ref())));
            s.push_str(",\"window\":{\"start\":");
            push_json(&mut s, &dwell_core::time::format(c.start));
            s.push_str(",\"end\":");
            push_json(&mut s, &dwell_core::time::format(c.end));
            s.push_str("},\"value\":");
            s.push_str(&number(c.value));
            s.push_str(",\"members\":[");
            for (i, m) in c.members.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                let mr = &rules[m.rule as usize];
                s.push_str("{\"rule_id\":");
                push_json(&mut s, &mr.id);
                s.push_str(",\"rule_title\":");
                push_json(&mut s, &mr.title);
                s.push_str(",\"timestamp\":");
                push_json(&mut s, &dwell_core::time::format(m.time));
                s.push_str(",\"source\":");
                push_json(&mut s, source(m.input));
                // A member is known by its place; `record_id` is kept for the scripts that
                // read it, and is the place too.
                s.push_str(",\"record_id\":");
                s.push_str(&m.record.to_string());
                s.push_str(",\"record\":");
                s.push_str(&m.record.to_string());
                s.push('}');
            }
            s.push_str("],\"more_members\":");
            s.push_str(&c.more_members.to_string());
            s.push('}');
        }
        s.push_str(",\"alert_id\":\"");
        s.push_str(&d.alert_id(rule_key(r)).to_string());
        s.push_str("\",\"record\":");
        s.push_str(&d.record.to_string());
        if self.profile != Profile::Minimal {
            s.push_str(",\"details\":");
            push_json(&mut s, &self.details.render(d));
        }
        if self.profile == Profile::Verbose {
            s.push_str(",\"extra\":");
            push_json(&mut s, &fields_text(d, &self.shown(d)));
        }
        s.push_str("}\n");
        s
    }

    /// One Timesketch document. OpenSearch maps a field by the type it first sees, and
    /// refuses documents where it changes (a `Protocol` integer in one event, `"tcp"` in the
    /// next), and stops at 1,000 fields: so every field here has one type, event data is
    /// text, and the set of fields is fixed.
    fn timesketch(&self, d: &Detection, r: &RuleInfo, source: &str) -> String {
        let (matched, msg) = message(d, r);
        let mut s = String::with_capacity(d.event.text_len() + 512);
        s.push_str("{\"message\":");
        push_json(&mut s, &msg);
        s.push_str(",\"datetime\":");
        push_time(&mut s, d.time);
        s.push_str(",\"timestamp\":");
        push_num(&mut s, d.time.map(dwell_core::time::micros));
        s.push_str(",\"timestamp_desc\":\"Event Recorded\",\"rule_id\":");
        push_json(&mut s, &r.id);
        s.push_str(",\"rule_title\":");
        push_json(&mut s, &r.title);
        s.push_str(",\"level\":");
        push_json(&mut s, r.level_str());
        s.push_str(",\"status\":");
        push_json(&mut s, r.status_str());
        s.push_str(",\"tags\":[");
        for (i, t) in r.tags.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            push_json(&mut s, t);
        }
        s.push_str("],\"computer\":");
        push_json(&mut s, &d.host);
        s.push_str(",\"channel\":");
        push_json(&mut s, &d.stream);
        if let Some(c) = d.code {
            s.push_str(&format!(",\"event_id\":{c}"));
        }
        if let Some(id) = record_id(d) {
            s.push_str(&format!(",\"record_id\":{id}"));
        }
        s.push_str(",\"source\":");
        push_json(&mut s, source);
        s.push_str(",\"provider\":");
        push_json(&mut s, &d.provider);
        s.push_str(",\"rule_path\":");
        push_json(&mut s, &r.path);
        s.push_str(",\"alert_id\":\"");
        s.push_str(&d.alert_id(rule_key(r)).to_string());
        s.push_str("\",\"record\":");
        s.push_str(&d.record.to_string());
        if self.profile != Profile::Minimal {
            s.push_str(",\"matched\":");
            push_json(&mut s, &matched);
            s.push_str(",\"details\":");
            push_json(&mut s, &self.details.render(d));
        }
        match self.profile {
            Profile::Verbose => {
                s.push_str(",\"extra\":");
                push_json(&mut s, &fields_text(d, &self.shown(d)));
            }
            Profile::All => {
                s.push_str(",\"event_fields\":");
                push_json(&mut s, &fields_text(d, &[]));
            }
            _ => {}
        }
        if let Some(c) = &d.correlation {
            let group: Vec<String> = c
                .group
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("")))
                .collect();
            s.push_str(",\"correlation\":");
            push_json(
                &mut s,
                &format!(
                    "{} ¦ group: {} ¦ window: {} to {} ¦ value: {} ¦ matches: {}",
                    r.correlation().unwrap_or(""),
                    group.join(", "),
                    dwell_core::time::format(c.start),
                    dwell_core::time::format(c.end),
                    number(c.value),
                    c.members.len() + c.more_members
                ),
            );
        }
        s.push_str("}\n");
        s
    }

    fn csv(&mut self, d: &Detection, r: &RuleInfo, source: &str) -> io::Result<()> {
        let (matched, mut message) = message(d, r);
        if self.profile == Profile::Minimal {
            // No event content at all: the message without the matched values.
            message = format!("[{}] {} on {}", r.level_str(), r.title, d.host);
        }
        let mut cols = vec![
            d.time.map(dwell_core::time::format).unwrap_or_default(),
            d.time
                .map(|t| dwell_core::time::micros(t).to_string())
                .unwrap_or_default(),
            "Event Recorded".to_string(),
            message,
            r.level_str().to_string(),
            r.title.clone(),
            r.id.clone(),
            d.host.clone(),
            d.stream.clone(),
            d.code.map(|e| e.to_string()).unwrap_or_default(),
            record_id(d).map(|e| e.to_string()).unwrap_or_default(),
            source.to_string(),
        ];
        if self.profile != Profile::Minimal {
            cols.extend([
                r.tags.join(";"),
                matched,
                r.path.clone(),
                self.details.render(d),
            ]);
        }
        cols.push(d.record.to_string());
        match self.profile {
            Profile::Verbose => cols.push(fields_text(d, &self.shown(d))),
            Profile::All => cols.push(fields_text(d, &[])),
            _ => {}
        }
        let mut line = String::with_capacity(512);
        for (i, c) in cols.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            csv_field_as(&mut line, c, self.neutralise);
        }
        line.push('\n');
        self.out.write_all(line.as_bytes())
    }
}

impl<W: Write + Send> Sink for Writer<W> {
    fn detection(&mut self, d: &Detection, tables: &Tables<'_>) -> Result<(), SinkError> {
        let names = self.names.take().unwrap_or_else(|| tables.inputs.names());
        let done = self.write(d, tables.rules, &names);
        self.names = Some(names);
        Ok(done?)
    }

    fn finish(&mut self, _: &Tables<'_>) -> Result<(), SinkError> {
        Ok(self.end()?)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use dwell_core::{Kind, Record, Section};
    use dwell_detect::RuleKind;
    use std::sync::Arc;

    pub(crate) fn sample() -> (Vec<RuleInfo>, Vec<String>, Detection) {
        let rules = vec![RuleInfo {
            id: "r-1".into(),
            name: None,
            title: "Suspicious, \"quoted\" thing".into(),
            level: Some(dwell_sigma::Level::High),
            status: Some(dwell_sigma::Status::Test),
            tags: vec!["attack.execution".into(), "attack.t1059".into()],
            tactics: vec!["execution"],
            path: "rules/x.yml".into(),
            line: 1,
            kind: RuleKind::Correlation("x"),
            warnings: Vec::new(),
        }];
        let inputs = vec!["logs/a.evtx".to_string()];
        let mut event = Record::default();
        event.push("CommandLine", "cmd", Kind::Str, Section::Data);
        let d = Detection {
            time: Some(1_700_000_000_123_456_000),
            rule: 0,
            input: 0,
            record: 42,
            host: "host1".into(),
            stream: "Microsoft-Windows-Sysmon/Operational".into(),
            code: Some(1),
            provider: "Microsoft-Windows-Sysmon".into(),
            matched: vec![("CommandLine".into(), "cmd /c \"x\"\nnext".into())],
            event: Arc::new(event),
            ident: Some("42".into()),
            captured: Vec::new(),
            correlation: None,
        };
        (rules, inputs, d)
    }

    fn written(format: Format, color: bool) -> String {
        let (rules, inputs, d) = sample();
        let mut w = Writer::new(format, Vec::new(), color, 200);
        w.write(&d, &rules, &inputs).unwrap();
        String::from_utf8(w.finish().unwrap()).unwrap()
    }

    #[test]
    fn jsonl_is_valid_json_with_the_contract_fields() {
        let out = written(Format::Jsonl, false);
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["timestamp"], "2023-11-14T22:13:20.123456Z");
        assert_eq!(v["rule_id"], "r-1");
        assert_eq!(v["level"], "high");
        assert_eq!(v["tags"][1], "attack.t1059");
        assert_eq!(v["computer"], "host1");
        assert_eq!(v["event_id"], 1);
        assert_eq!(v["record_id"], 42);
        assert_eq!(v["record"], 42);
        assert_eq!(v["details"], "Cmd: cmd");
        assert_eq!(v["source"], "logs/a.evtx");
        assert_eq!(v["matched"]["CommandLine"], "cmd /c \"x\"\nnext");
        assert_eq!(v["event"]["CommandLine"], "cmd");
        let (_, _, d) = sample();
        assert_eq!(v["alert_id"], d.alert_id("r-1").to_string());
        assert_eq!(v["alert_id"].as_str().unwrap().len(), 32);
    }

    #[test]
    fn csv_quotes_and_header() {
        let out = written(Format::Csv, false);
        let mut lines = out.splitn(2, '\n');
        assert_eq!(lines.next().unwrap(), CSV_COLUMNS.join(","));
        let row = lines.next().unwrap();
        assert!(row.starts_with("2023-11-14T22:13:20.123456Z,1700000000123456,Event Recorded,"));
        assert!(row.contains("\"Suspicious, \"\"quoted\"\" thing\""));
        let empty = Writer::new(Format::Csv, Vec::new(), false, 100);
        let out = String::from_utf8(empty.finish().unwrap()).unwrap();
        assert_eq!(out.trim(), CSV_COLUMNS.join(","));
    }
}
