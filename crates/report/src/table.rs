//! The terminal table: one aligned, optionally coloured line per detection. Every cell comes
//! from a log or a rule, so each passes through [`dwell_core::text::terminal`] first: a log
//! line must not be able to clear the screen or rewrite what the analyst reads.

use dwell_core::text::terminal;
use dwell_detect::{Detection, RuleInfo};
use dwell_sigma::Level;
use std::io::{self, Write};

/// The header line.
pub(crate) fn header(out: &mut impl Write, color: bool) -> io::Result<()> {
    let line = format!(
        "{:<20}  {:<8}  {:<48}  {:<18}  {:<16}  DETAILS",
        "TIME (UTC)", "LEVEL", "RULE", "COMPUTER", "EVENT"
    );
    if color {
        writeln!(out, "\x1b[1m{line}\x1b[0m")
    } else {
        writeln!(out, "{line}")
    }
}

/// One detection's line, `width` columns wide.
pub(crate) fn row(
    out: &mut impl Write,
    color: bool,
    width: usize,
    d: &Detection,
    r: &RuleInfo,
    details: &str,
) -> io::Result<()> {
    let time = d
        .time
        .map(|t| {
            let s = dwell_core::time::format(t);
            format!("{} {}", &s[..10], &s[11..19])
        })
        .unwrap_or_else(|| "-".into());
    let event = match d.code {
        Some(e) => format!("{}/{e}", short_channel(&d.stream)),
        None => short_channel(&d.stream).to_string(),
    };
    // The event's details; a correlation's are its count and group.
    let mut details = one_line(details);
    if let Some(c) = &d.correlation {
        details = format!("[{} matches] {details}", c.members.len() + c.more_members);
    }
    let used = 20 + 2 + 8 + 2 + 48 + 2 + 18 + 2 + 16 + 2;
    let room = width.saturating_sub(used).max(20);
    let label = match r.level {
        Some(Level::Informational) => "INFO".to_string(),
        Some(l) => l.as_str().to_uppercase(),
        None => "-".to_string(),
    };
    let level_cell = format!("{label:<8}");
    let level_cell = if color {
        format!("{}{level_cell}\x1b[0m", level_color(r.level))
    } else {
        level_cell
    };
    writeln!(
        out,
        "{:<20}  {}  {:<48}  {:<18}  {:<16}  {}",
        time,
        level_cell,
        clip(&terminal(&r.title), 48),
        clip(&terminal(&d.host), 18),
        clip(&terminal(&event), 16),
        clip(&terminal(&details), room)
    )
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

#[cfg(test)]
mod tests {
    use crate::writer::tests::sample;
    use crate::writer::{Format, Writer};

    #[test]
    fn table_is_one_line_per_detection() {
        let (rules, inputs, d) = sample();
        let mut w = Writer::new(Format::Table, Vec::new(), true, 200);
        w.write(&d, &rules, &inputs).unwrap();
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(out.lines().count(), 2);
        assert!(out.contains("Sysmon/1"));
        assert!(out.contains("\x1b[1;31mHIGH"));
        assert!(out.contains("Cmd: cmd"), "{out}");
    }

    #[test]
    fn log_values_cannot_drive_the_terminal() {
        let (rules, inputs, mut d) = sample();
        d.host = "\u{1b}]0;owned\u{7}\u{1b}[2J".into();
        let mut e = dwell_core::Record::default();
        e.push(
            "CommandLine",
            "x\rno detections\u{9b}2J\u{1b}]52;c;ZXZpbA==\u{7}\u{8}",
            dwell_core::Kind::Str,
            dwell_core::Section::Data,
        );
        d.event = std::sync::Arc::new(e);
        let mut w = Writer::new(Format::Table, Vec::new(), false, 400);
        w.write(&d, &rules, &inputs).unwrap();
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        let row = out.lines().nth(1).unwrap();
        assert!(!row.chars().any(|c| c.is_control()), "{row:?}");
        assert!(row.contains("\\e]0;owned"), "{row}");
        // The carriage return is white space in the details: one line, the rest shown as text.
        assert!(row.contains("x no detections\\u{9b}2J\\e]52;c;"), "{row}");
    }
}
