//! The closing summary of a run: a few lines for people, on standard error.

use crate::coverage::Run;
use std::io::{self, Write};

/// The numbers the closing summary prints.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Inputs read.
    pub inputs_read: usize,
    /// Inputs skipped (not found, not logs, unreadable).
    pub inputs_skipped: usize,
    /// Inputs with problems inside.
    pub inputs_with_problems: usize,
    /// Problems inside inputs.
    pub problems: u64,
    /// Events decoded.
    pub events: u64,
    /// Events outside `--from`/`--to` (or without a time when a window is given): not
    /// evaluated.
    pub outside: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Wall time.
    pub seconds: f64,
    /// Worker threads.
    pub threads: usize,
    /// Rules evaluated.
    pub rules_run: usize,
    /// Rules that did not load.
    pub rules_not_loaded: usize,
    /// Rules filtered out by level or status.
    pub rules_filtered: usize,
    /// Rules for log sources dwell does not read.
    pub rules_unmapped: usize,
    /// Correlations run.
    pub correlations: usize,
    /// Detections per level, informational..critical, then rules without a level.
    pub by_level: [u64; 6],
    /// Distinct rules that fired.
    pub rules_fired: usize,
    /// Distinct hosts with a detection.
    pub hosts: usize,
    /// The first detection's time.
    pub first: Option<String>,
    /// The last detection's time.
    pub last: Option<String>,
    /// Duplicates dropped (`--dedup`).
    pub duplicates_dropped: u64,
    /// Matches of rules with dwell's extension not reported: (learning, seen before, outside
    /// their hours).
    pub held_back: (u64, u64, u64),
    /// Rules with `dwell.first_seen` that stopped learning at `dwell_detect::MAX_SEEN` values.
    pub first_seen_full: u64,
    /// Events were read and routed, no rule evaluated (`--parse-only`).
    pub parse_only: bool,
    /// Inputs read per format and variant (`syslog (rfc3164)`), in name order.
    pub formats: Vec<(String, usize)>,
}

/// `name (variant)`, or the name alone for a format without variants.
pub fn format_label(f: &dyn dwell_ingest::Format) -> String {
    match f.variant() {
        "" => f.name().to_string(),
        v => format!("{} ({v})", f.name()),
    }
}

impl Summary {
    /// The summary of a finished run.
    pub fn of(run: &Run<'_>) -> Summary {
        let s = run.stats;
        let d = run.detector;
        let failed = s.failed();
        Summary {
            inputs_read: s.per_input.len() - failed,
            inputs_skipped: run.skipped.len() + failed,
            inputs_with_problems: s.per_input.iter().filter(|i| i.problems > 0).count(),
            problems: s.problems(),
            events: s.events,
            outside: s.per_input.iter().map(|i| i.outside).sum(),
            bytes: s.bytes,
            seconds: run.seconds,
            threads: s.threads,
            rules_run: d.engine.rules.len() - d.unmapped.len(),
            rules_not_loaded: run.not_loaded.len(),
            rules_filtered: d.filtered.len(),
            rules_unmapped: d.unmapped.len(),
            correlations: d.table.len() - d.engine.rules.len() - d.correlation_problems.len(),
            by_level: s.detections.by_level,
            rules_fired: s.detections.rules,
            hosts: s.detections.hosts,
            first: s.detections.first.map(dwell_core::time::format),
            last: s.detections.last.map(dwell_core::time::format),
            duplicates_dropped: s.duplicates_dropped,
            parse_only: s.parse_only,
            held_back: (
                s.novelty.learning,
                s.novelty.seen_before,
                s.novelty.outside_hours,
            ),
            first_seen_full: s.novelty.full,
            formats: {
                let mut m: std::collections::BTreeMap<String, usize> = Default::default();
                for (info, a) in s.inputs.iter().zip(&s.per_input) {
                    if let (Some(f), None) = (&info.format, &a.failed) {
                        *m.entry(format_label(f.as_ref())).or_default() += 1;
                    }
                }
                m.into_iter().collect()
            },
        }
    }

    /// All detections.
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
            "{b}Summary{r}: {} event{} from {} input{} in {:.2}s ({}{} thread{})",
            group(self.events),
            plural(self.events as usize),
            self.inputs_read,
            plural(self.inputs_read),
            self.seconds,
            if self.events > 0 && rate >= 1.0 {
                format!("{} events/s, ", group(rate.round() as u64))
            } else {
                String::new()
            },
            self.threads,
            plural(self.threads)
        )?;
        if self.outside > 0 {
            writeln!(
                out,
                "  {} event{} outside --from/--to (or without a time to place them) not evaluated",
                group(self.outside),
                plural(self.outside as usize)
            )?;
        }
        if !self.formats.is_empty() {
            let list: Vec<String> = self
                .formats
                .iter()
                .map(|(f, n)| format!("{f} {n}"))
                .collect();
            writeln!(out, "  Inputs by format: {}", list.join(", "))?;
        }
        if self.parse_only {
            writeln!(
                out,
                "  Parse only: events read and routed, no rule evaluated ({} rule{} would run; --coverage says which saw events)",
                self.rules_run,
                plural(self.rules_run)
            )?;
        } else {
            self.print_rules(out, b, r)?;
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

    /// The rules and detections lines.
    fn print_rules(&self, out: &mut impl Write, b: &str, r: &str) -> io::Result<()> {
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
        let (learning, seen, hours) = self.held_back;
        if learning + seen + hours > 0 {
            writeln!(
                out,
                "  {} match{} of first-seen and hours rules not reported (dwell: extension): {learning} while learning, {seen} seen before, {hours} outside their hours",
                learning + seen + hours,
                if learning + seen + hours == 1 {
                    ""
                } else {
                    "es"
                }
            )?;
        }
        if self.first_seen_full > 0 {
            writeln!(
                out,
                "  {} first-seen rule{} stopped learning at {} distinct values; later values were reported as new",
                self.first_seen_full,
                plural(self.first_seen_full as usize),
                dwell_detect::MAX_SEEN
            )?;
        }
        if self.duplicates_dropped > 0 {
            writeln!(
                out,
                "  {} duplicate detection{} dropped (--dedup)",
                self.duplicates_dropped,
                plural(self.duplicates_dropped as usize)
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
        assert!(
            text.contains("Summary: 10 events from 1 input in"),
            "{text}"
        );
        let one = Summary {
            events: 1,
            outside: 1,
            inputs_read: 1,
            ..Summary::default()
        };
        let mut out = Vec::new();
        one.print(&mut out, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Summary: 1 event from 1 input"), "{text}");
        assert!(text.contains("1 event outside --from/--to"), "{text}");
        assert!(!text.contains("0 events/s"), "{text}");
    }
}
