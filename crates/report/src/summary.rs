//! The closing summary of a hunt and the `--coverage` document ("why did nothing fire?").

use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// What happened to one input.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InputCoverage {
    pub path: String,
    /// `evtx` or `json`; empty when the input was skipped before its format was known.
    pub format: String,
    pub compression: String,
    pub events: u64,
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    /// Events per channel (or `(none)` for events without one).
    pub channels: BTreeMap<String, u64>,
    /// Damaged records, malformed lines and the like.
    pub problems: u64,
    /// The first few problems, each `place: reason`.
    pub problem_samples: Vec<String>,
    /// Why the input was not read at all, if it was not.
    pub skipped: Option<String>,
}

/// Where a rule stands after a hunt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleState {
    /// Compiled and evaluated on the events of its log source.
    Run,
    /// Could not be loaded (invalid, unsupported, unresolved placeholder).
    NotLoaded,
    /// Left out by `--status` or `--min-level`.
    Filtered,
    /// Its log source is one dwell cannot recognise in events.
    Unmapped,
}

/// What happened to one rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleCoverage {
    pub id: Option<String>,
    pub title: Option<String>,
    pub path: String,
    pub level: Option<String>,
    pub status: Option<String>,
    pub logsource: String,
    pub state: RuleState,
    pub reason: Option<String>,
    /// Whether any event of the rule's log source was seen.
    pub logsource_seen: bool,
    /// Events of its log source the rule was checked against.
    pub events_checked: u64,
    pub fired: u64,
}

/// The `--coverage` document.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    pub version: u32,
    pub inputs: Vec<InputCoverage>,
    pub rules: Vec<RuleCoverage>,
}

impl Coverage {
    pub fn write(&self, out: impl Write) -> io::Result<()> {
        let mut out = io::BufWriter::new(out);
        serde_json::to_writer_pretty(&mut out, self).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
        out.flush()
    }
}

/// The numbers the closing summary prints.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub inputs_read: usize,
    pub inputs_skipped: usize,
    pub inputs_with_problems: usize,
    pub problems: u64,
    pub events: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub threads: usize,
    pub rules_run: usize,
    pub rules_not_loaded: usize,
    pub rules_filtered: usize,
    pub rules_unmapped: usize,
    pub correlations: usize,
    /// Detections per level, informational..critical, then rules without a level.
    pub by_level: [u64; 6],
    pub rules_fired: usize,
    pub hosts: usize,
    pub first: Option<String>,
    pub last: Option<String>,
    pub duplicates_dropped: u64,
}

impl Summary {
    pub fn detections(&self) -> u64 {
        self.by_level.iter().sum()
    }

    /// Prints the summary as a few readable lines.
    pub fn print(&self, out: &mut impl Write, color: bool) -> io::Result<()> {
        let (b, r) = if color {
            ("\x1b[1m", "\x1b[0m")
        } else {
            ("", "")
        };
        let rate = if self.seconds > 0.0 {
            self.events as f64 / self.seconds
        } else {
            0.0
        };
        writeln!(out)?;
        writeln!(
            out,
            "{b}Summary{r}: {} events from {} input{} in {:.2}s ({} events/s, {} thread{})",
            group(self.events),
            self.inputs_read,
            plural(self.inputs_read),
            self.seconds,
            group(rate as u64),
            self.threads,
            plural(self.threads)
        )?;
        writeln!(
            out,
            "  Rules: {} run and {} correlation{}, {} not loaded, {} filtered out, {} for log sources dwell does not read",
            self.rules_run,
            self.correlations,
            plural(self.correlations),
            self.rules_not_loaded,
            self.rules_filtered,
            self.rules_unmapped,
        )?;
        let n = self.detections();
        let lv = &self.by_level;
        writeln!(
            out,
            "  {b}Detections: {}{r} (critical {}, high {}, medium {}, low {}, informational {}{}) from {} rule{} on {} host{}",
            group(n),
            lv[4],
            lv[3],
            lv[2],
            lv[1],
            lv[0],
            if lv[5] > 0 {
                format!(", no level {}", lv[5])
            } else {
                String::new()
            },
            self.rules_fired,
            plural(self.rules_fired),
            self.hosts,
            plural(self.hosts)
        )?;
        if let (Some(f), Some(l)) = (&self.first, &self.last) {
            writeln!(out, "  First detection {f}, last {l}")?;
        }
        if self.duplicates_dropped > 0 {
            writeln!(
                out,
                "  {} duplicate detection{} dropped (--dedup)",
                self.duplicates_dropped,
                plural(self.duplicates_dropped as usize)
            )?;
        }
        if self.inputs_skipped > 0 || self.problems > 0 {
            writeln!(
                out,
                "  Inputs skipped: {}; problems inside {} input{}: {} (each reported above; --coverage has the details)",
                self.inputs_skipped,
                self.inputs_with_problems,
                plural(self.inputs_with_problems),
                self.problems
            )?;
        }
        Ok(())
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `1234567` -> `1,234,567`.
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_and_summary() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_234_567), "1,234,567");
        let s = Summary {
            events: 10,
            inputs_read: 1,
            by_level: [1, 0, 2, 3, 0, 0],
            rules_fired: 2,
            hosts: 1,
            ..Summary::default()
        };
        let mut out = Vec::new();
        s.print(&mut out, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("Detections: 6 (critical 0, high 3, medium 2, low 0, informational 1)")
        );
        assert!(!text.contains("Inputs skipped"));
    }
}
