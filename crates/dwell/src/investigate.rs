//! Investigation outputs of `hunt` and `investigate`, and the `report` command: collects
//! detections as they are written, then builds the incidents and writes the case file, the
//! HTML report, the timeline and the incident summary.

use crate::{CaseArgs, EXIT_FAILED, EXIT_OK, IncidentFormat, ReportArgs};
use dwell_investigate::incident::{Finding, RuleInfo, tactics};
use dwell_investigate::{Investigation, Logon, Options, Report, entity};
use dwell_report::case::CaseWriter;
use dwell_report::{Detection, RuleView};
use std::collections::HashMap;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Parses `30s`, `15m`, `24h`, `7d` (or plain seconds) into nanoseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: i64 = num.parse().ok()?;
    let mult: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(mult)?.checked_mul(1_000_000_000)
}

pub fn rule_info(v: &RuleView) -> RuleInfo {
    RuleInfo {
        id: v.id.clone(),
        title: v.title.clone(),
        level: v.level,
        tactics: tactics(&v.tags),
    }
}

/// Gathers what the investigation needs while the hunt writes detections.
pub struct Collector {
    inv: Investigation,
    case: Option<CaseWriter>,
    case_ids: Vec<i64>,
    opts: Options,
    html: Option<PathBuf>,
    timeline: Option<PathBuf>,
}

impl Collector {
    pub fn new(args: &CaseArgs, inputs: &[String]) -> Result<Collector, String> {
        let gap = parse_duration(&args.gap).ok_or_else(|| {
            format!(
                "--gap '{}' is not a duration such as 30m, 24h or 7d",
                args.gap
            )
        })?;
        let case = match &args.case {
            Some(p) => Some(CaseWriter::create(p, inputs)?),
            None => None,
        };
        // Fail before the hunt, not after it, when an output cannot be written.
        for p in [&args.html, &args.timeline].into_iter().flatten() {
            std::fs::File::create(p).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        }
        Ok(Collector {
            inv: Investigation::default(),
            case,
            case_ids: Vec::new(),
            opts: Options { gap },
            html: args.html.clone(),
            timeline: args.timeline.clone(),
        })
    }

    /// Takes one detection as it is written.
    pub fn detection(&mut self, d: &Detection, rule: &RuleView) -> Result<(), String> {
        let mut fields = flat_fields(&d.event);
        // A correlation has no event of its own: its group-by values are its fields.
        if d.correlation.is_some() {
            for (k, v) in d.matched.iter().filter(|(_, v)| v != "(none)") {
                fields.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let get = |k: &str| fields.get(k).map(String::as_str);
        let entities = entity::extract(&d.computer, &get);
        let account = entity::primary_account(&get);
        let host = entity::host(&d.computer).unwrap_or_default();
        let id = match &mut self.case {
            Some(c) => Some(c.detection(d, rule, &host, account.as_deref(), &entities)?),
            None => None,
        };
        match d.timestamp {
            Some(time) => {
                self.inv.add_detection(Finding {
                    time,
                    rule: d.rule,
                    host,
                    account,
                    entities,
                    input: d.input,
                    record: d.record,
                });
                self.case_ids.extend(id);
            }
            None => self.inv.add_undated(),
        }
        Ok(())
    }

    /// Builds the incidents and writes every requested output; `incidents` is where
    /// `investigate` prints them.
    pub fn finish(
        self,
        rules: Vec<RuleInfo>,
        logons: Vec<Logon>,
        inputs: &[String],
        incidents: Option<(IncidentFormat, Box<dyn Write>)>,
        color: bool,
    ) -> Result<(), String> {
        let mut inv = self.inv;
        inv.add_logons(logons);
        let report = inv.build(&rules, self.opts, inputs);
        if let Some(case) = self.case {
            case.finish(&report, &self.case_ids)?;
        }
        emit(
            &report,
            self.html.as_deref(),
            self.timeline.as_deref(),
            incidents,
            color,
        )
    }
}

/// Writes the HTML report, the timeline and the summary.
fn emit(
    report: &Report,
    html: Option<&Path>,
    timeline: Option<&Path>,
    incidents: Option<(IncidentFormat, Box<dyn Write>)>,
    color: bool,
) -> Result<(), String> {
    if let Some(p) = html {
        std::fs::write(p, dwell_report::html::render(report))
            .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    if let Some(p) = timeline {
        let jsonl = p
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"));
        let written = std::fs::File::create(p).and_then(|f| {
            let mut w = io::BufWriter::new(f);
            dwell_report::incidents::write_timeline(&mut w, report, jsonl)
        });
        written.map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    if let Some((format, mut out)) = incidents {
        let written = match format {
            IncidentFormat::Table => dwell_report::incidents::write_table(&mut out, report, color),
            IncidentFormat::Json => dwell_report::incidents::write_json(&mut out, report),
        }
        .and_then(|_| out.flush());
        match written {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                return Err(format!("writing incidents failed: {e}"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The event's fields by name, values as text (the first of repeated names).
fn flat_fields(event: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(event) {
        for (k, v) in map {
            let v = match v {
                serde_json::Value::Array(mut a) if !a.is_empty() => a.swap_remove(0),
                v => v,
            };
            let text = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            out.insert(k, text);
        }
    }
    out
}

/// `dwell report CASE`: the incidents of a case file, again.
pub fn report(args: ReportArgs) -> u8 {
    let report = match dwell_report::case::read(&args.case) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    };
    let tty = io::stdout().is_terminal();
    let format = args.format.unwrap_or(if tty && args.output.is_none() {
        IncidentFormat::Table
    } else {
        IncidentFormat::Json
    });
    let out: Box<dyn Write> = match &args.output {
        Some(p) => match std::fs::File::create(p) {
            Ok(f) => Box::new(io::BufWriter::new(f)),
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", p.display());
                return EXIT_FAILED;
            }
        },
        None => Box::new(io::BufWriter::new(io::stdout().lock())),
    };
    let color = tty && args.output.is_none() && std::env::var_os("NO_COLOR").is_none();
    match emit(
        &report,
        args.html.as_deref(),
        args.timeline.as_deref(),
        Some((format, out)),
        color,
    ) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_FAILED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(90_000_000_000));
        assert_eq!(parse_duration("30m"), Some(1_800_000_000_000));
        assert_eq!(parse_duration("24h"), Some(86_400_000_000_000));
        assert_eq!(parse_duration("7d"), Some(604_800_000_000_000));
        assert_eq!(parse_duration("7w"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("99999999999999999d"), None);
    }
}
