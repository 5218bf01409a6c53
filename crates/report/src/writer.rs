//! The detection writer, a pipeline sink: JSON lines (plain and for Timesketch), a CSV
//! timeline, OCSF findings ([`crate::ocsf`]) and the terminal table ([`crate::table`]).
//!
//! Column sets and fields are part of dwell's command-line contract (see docs/output.md); add
//! columns only at the end.

use crate::encode::{
    csv_field, message, number, push_json, push_json_object, push_num, push_time, rule_key,
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
pub struct Writer<W: Write> {
    format: Format,
    out: W,
    color: bool,
    width: usize,
    written: usize,
    /// Input names by index, taken from the run's table at the first detection.
    names: Option<Vec<String>>,
}

impl<W: Write> Writer<W> {
    /// `color` and `width` (the terminal's) are for the table only.
    pub fn new(format: Format, out: W, color: bool, width: usize) -> Self {
        Writer {
            format,
            out,
            color,
            width: width.max(80),
            written: 0,
            names: None,
        }
    }

    /// Writes one detection; `rules` and `inputs` are the tables it indexes.
    pub fn write(
        &mut self,
        d: &Detection,
        rules: &[RuleInfo],
        inputs: &[String],
    ) -> io::Result<()> {
        if self.written == 0 {
            self.header()?;
        }
        self.written += 1;
        let r = &rules[d.rule as usize];
        let source = inputs.get(d.input as usize).map_or("", String::as_str);
        match self.format {
            Format::Jsonl | Format::Timesketch => {
                let line = self.jsonl(d, r, rules, inputs);
                self.out.write_all(line.as_bytes())
            }
            Format::Ocsf => {
                let line = crate::ocsf::finding(d, r, source);
                self.out.write_all(line.as_bytes())
            }
            Format::Csv => self.csv(d, r, source),
            Format::Table => crate::table::row(&mut self.out, self.color, self.width, d, r),
        }
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
            Format::Csv => writeln!(self.out, "{}", CSV_COLUMNS.join(",")),
            Format::Table => crate::table::header(&mut self.out, self.color),
            Format::Jsonl | Format::Timesketch | Format::Ocsf => Ok(()),
        }
    }

    fn jsonl(&self, d: &Detection, r: &RuleInfo, rules: &[RuleInfo], inputs: &[String]) -> String {
        let source = |i: u32| inputs.get(i as usize).map_or("", String::as_str);
        let mut s = String::with_capacity(d.event.text_len() + 512);
        if self.format == Format::Timesketch {
            // Timesketch reads `timestamp` as microseconds, so the RFC 3339 text is only
            // in `datetime` here.
            s.push_str("{\"message\":");
            push_json(&mut s, &message(d, r).1);
            s.push_str(",\"datetime\":");
            push_time(&mut s, d.time);
            s.push_str(",\"timestamp\":");
            push_num(&mut s, d.time.map(dwell_core::time::micros));
            s.push_str(",\"timestamp_desc\":\"Event Recorded\"");
        } else {
            s.push_str("{\"timestamp\":");
            push_time(&mut s, d.time);
        }
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
        s.push_str(&d.record.to_string());
        s.push_str(",\"source\":");
        push_json(&mut s, source(d.input));
        s.push_str(",\"provider\":");
        push_json(&mut s, &d.provider);
        s.push_str(",\"rule_path\":");
        push_json(&mut s, &r.path);
        s.push_str(",\"matched\":");
        push_json_object(&mut s, d.matched.iter().map(|(k, v)| (k, Some(v))));
        s.push_str(",\"event\":");
        d.event.write_json(&mut s);
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
                s.push_str(",\"record_id\":");
                s.push_str(&m.record.to_string());
                s.push('}');
            }
            s.push_str("],\"more_members\":");
            s.push_str(&c.more_members.to_string());
            s.push('}');
        }
        s.push_str(",\"alert_id\":\"");
        s.push_str(&d.alert_id(rule_key(r)).to_string());
        s.push_str("\"}\n");
        s
    }

    fn csv(&mut self, d: &Detection, r: &RuleInfo, source: &str) -> io::Result<()> {
        let (matched, message) = message(d, r);
        let cols = [
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
            d.record.to_string(),
            source.to_string(),
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
