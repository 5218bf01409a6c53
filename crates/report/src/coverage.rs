//! The `--coverage` document: the answer to "why did nothing fire?", per input (what was read,
//! which streams, what went wrong) and per rule (ran or not, and why; events checked; fired).

use dwell_detect::{Detector, RuleInfo};
use dwell_ingest::Skipped;
use dwell_pipeline::RunStats;
use dwell_sigma::RuleError;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

/// Everything a finished run can report on.
pub struct Run<'a> {
    /// What the pipeline counted.
    pub stats: &'a RunStats,
    /// The compiled rules.
    pub detector: &'a Detector,
    /// Paths not read at all (found in discovery).
    pub skipped: &'a [Skipped],
    /// Rules that did not load.
    pub not_loaded: &'a [RuleError],
    /// Wall time.
    pub seconds: f64,
}

/// What happened to one input.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InputCoverage {
    /// The input as outputs name it.
    pub path: String,
    /// The format that read it (`evtx`, `evtx-json`, `json`...); empty when it was skipped
    /// before its format was known.
    pub format: String,
    /// The variant of the format it was read as (`rfc3164`, `csvlog`), or empty.
    pub variant: String,
    /// `gzip`, `zstd`, or empty.
    pub compression: String,
    /// Events read.
    pub events: u64,
    /// The earliest event time.
    pub first_event: Option<String>,
    /// The latest event time.
    pub last_event: Option<String>,
    /// Events per channel (or `(none)` for events without one).
    pub channels: BTreeMap<String, u64>,
    /// Damaged records, malformed lines, unusable times and the like.
    pub problems: u64,
    /// The first few problems, each `place: reason`.
    pub problem_samples: Vec<String>,
    /// Why the input was not read at all, if it was not.
    pub skipped: Option<String>,
}

/// Where a rule stands after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleState {
    /// Compiled and evaluated on the events of its log source.
    Run,
    /// Could not be loaded (invalid, unsupported, a duplicate id).
    NotLoaded,
    /// Left out by `--status` or `--min-level`.
    Filtered,
    /// Its log source is one dwell cannot recognise in events.
    Unmapped,
}

/// What happened to one rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleCoverage {
    /// Its id.
    pub id: Option<String>,
    /// Its title.
    pub title: Option<String>,
    /// Its file.
    pub path: String,
    /// Its level.
    pub level: Option<String>,
    /// Its status.
    pub status: Option<String>,
    /// Its log source, or `correlation: TYPE`.
    pub logsource: String,
    /// Where it stands.
    pub state: RuleState,
    /// Why, when it did not run.
    pub reason: Option<String>,
    /// Whether any event of the rule's log source was seen.
    pub logsource_seen: bool,
    /// Events of its log source the rule was checked against.
    pub events_checked: u64,
    /// Times it fired.
    pub fired: u64,
    /// What loading it warned about: a placeholder without a value matches nothing, for one.
    pub warnings: Vec<String>,
}

/// The `--coverage` document.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// The document's version.
    pub version: u32,
    /// Every input, skipped ones first.
    pub inputs: Vec<InputCoverage>,
    /// Every rule and correlation, by path.
    pub rules: Vec<RuleCoverage>,
}

fn row(r: &RuleInfo, state: RuleState, reason: Option<String>) -> RuleCoverage {
    RuleCoverage {
        id: (!r.id.is_empty()).then(|| r.id.clone()),
        title: Some(r.title.clone()),
        path: r.path.clone(),
        level: r.level.map(|l| l.as_str().to_string()),
        status: r.status.map(|s| s.as_str().to_string()),
        logsource: r.logsource(),
        state,
        reason,
        logsource_seen: false,
        events_checked: 0,
        fired: 0,
        warnings: r.warnings.clone(),
    }
}

impl Coverage {
    /// The document for a finished run.
    pub fn of(run: &Run<'_>) -> Coverage {
        Coverage {
            version: 1,
            inputs: inputs(run),
            rules: rules(run),
        }
    }

    /// Writes the document as pretty JSON.
    pub fn write(&self, out: impl Write) -> io::Result<()> {
        let mut out = io::BufWriter::new(out);
        serde_json::to_writer_pretty(&mut out, self).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
        out.flush()
    }
}

fn inputs(run: &Run<'_>) -> Vec<InputCoverage> {
    let mut out: Vec<InputCoverage> = run
        .skipped
        .iter()
        .map(|s| InputCoverage {
            path: s.path.clone(),
            skipped: Some(s.reason.clone()),
            ..InputCoverage::default()
        })
        .collect();
    for (info, a) in run.stats.inputs.iter().zip(&run.stats.per_input) {
        out.push(InputCoverage {
            path: info.display.clone(),
            format: info
                .format
                .as_ref()
                .map_or(String::new(), |f| f.name().to_string()),
            variant: info
                .format
                .as_ref()
                .map_or(String::new(), |f| f.variant().to_string()),
            compression: info.compression.as_str().to_string(),
            events: a.events,
            first_event: a.first.map(dwell_core::time::format),
            last_event: a.last.map(dwell_core::time::format),
            channels: a.streams.clone(),
            problems: a.problems,
            problem_samples: a.samples.clone(),
            skipped: a.failed.clone(),
        });
    }
    out
}

fn rules(run: &Run<'_>) -> Vec<RuleCoverage> {
    let d = run.detector;
    let s = run.stats;
    let mut out: Vec<RuleCoverage> = Vec::new();
    for e in run.not_loaded {
        out.push(RuleCoverage {
            id: e.id.clone(),
            title: e.title.clone(),
            path: e.path.clone(),
            level: None,
            status: None,
            logsource: String::new(),
            state: RuleState::NotLoaded,
            reason: Some(format!("{}: {}", e.kind.as_str(), e.reason)),
            logsource_seen: false,
            events_checked: 0,
            fired: 0,
            warnings: Vec::new(),
        });
    }
    for f in &d.filtered {
        out.push(row(&f.rule, RuleState::Filtered, Some(f.reason.clone())));
    }
    let unmapped: HashMap<usize, &str> = d
        .unmapped
        .iter()
        .map(|u| (u.rule, u.reason.as_str()))
        .collect();
    let base = d.correlation_base() as usize;
    for (ri, r) in d.table.iter().enumerate() {
        let fired = s.fired.get(ri).copied().unwrap_or(0);
        let (state, reason, checked) = if ri < base {
            let checked = s.checked.get(ri).copied().unwrap_or(0);
            match unmapped.get(&ri) {
                Some(why) => (RuleState::Unmapped, Some(why.to_string()), checked),
                None => (RuleState::Run, None, checked),
            }
        } else {
            // A correlation "checks" the detections of the rules it consumes.
            let ci = (ri - base) as u32;
            let inputs: u64 = d
                .correlator
                .sources(ci)
                .iter()
                .map(|src| match src {
                    dwell_detect::Source::Rule(r) => s.fired[*r as usize],
                    dwell_detect::Source::Correlation(x) => s.fired[base + *x as usize],
                })
                .sum();
            let problem = d
                .correlation_problems
                .iter()
                .find(|(i, _)| *i == ri - base)
                .map(|(_, r)| r.clone());
            match problem {
                Some(p) => (RuleState::NotLoaded, Some(p), inputs),
                None => (RuleState::Run, None, inputs),
            }
        };
        out.push(RuleCoverage {
            logsource_seen: checked > 0,
            events_checked: checked,
            fired,
            ..row(r, state, reason)
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path).then(a.id.cmp(&b.id)));
    out
}
