//! Incidents for people and for timelines: the terminal summary, the JSON document, and
//! Timesketch rows (CSV or JSON lines) of every detection and movement in an incident.

use crate::encode::{csv_field, push_json};
use dwell_core::text::terminal;
use dwell_investigate::Report;
use std::io::{self, Write};

/// A duration in seconds as `3d 4h`, `2h 5m`, `40s`.
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m {}s", s % 60),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

fn paint(color: bool, code: &str, s: &str) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn severity_code(s: &str) -> &'static str {
    match s {
        "critical" => "1;35",
        "high" => "1;31",
        "medium" => "33",
        "low" => "36",
        _ => "2",
    }
}

/// The terminal summary: each incident with its dwell time, patient zero, hosts, accounts,
/// tactic sequence and movements. Names come from logs: each passes through
/// [`terminal`] before it is printed.
pub fn write_table(w: &mut dyn Write, r: &Report, color: bool) -> io::Result<()> {
    let t = dwell_core::time::format;
    let or_dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            terminal(s).into_owned()
        }
    };
    for inc in &r.incidents {
        writeln!(
            w,
            "{}  {}  {} host(s), {} account(s), {} detection(s)",
            paint(color, "1", &format!("INCIDENT {}", inc.id)),
            paint(
                color,
                severity_code(&inc.severity),
                &format!("[{}]", terminal(&inc.severity))
            ),
            inc.hosts.len(),
            inc.accounts.len(),
            inc.detections.len()
        )?;
        for (label, d) in [("first", &inc.first), ("last", &inc.last)] {
            writeln!(
                w,
                "  {label:<13} {}  {}  {}  ({} record {})",
                t(d.time),
                or_dash(&d.host),
                terminal(&d.rule_title),
                terminal(&d.source),
                d.record
            )?;
        }
        writeln!(w, "  {:<13} {}", "dwell time", duration(inc.dwell_seconds))?;
        writeln!(
            w,
            "  {:<13} host {}, account {}",
            "patient zero",
            or_dash(inc.patient_zero.host.as_deref().unwrap_or("")),
            or_dash(inc.patient_zero.account.as_deref().unwrap_or(""))
        )?;
        let hosts: Vec<String> = inc
            .hosts
            .iter()
            .map(|h| match (&h.reached, h.detections) {
                (Some(_), 0) => format!("{} (reached, no detection)", terminal(&h.name)),
                _ => format!("{} ({})", terminal(&h.name), h.detections),
            })
            .collect();
        writeln!(w, "  {:<13} {}", "hosts", hosts.join(", "))?;
        let accounts: Vec<String> = inc
            .accounts
            .iter()
            .map(|a| terminal(&a.name).into_owned())
            .collect();
        writeln!(w, "  {:<13} {}", "accounts", or_dash(&accounts.join(", ")))?;
        let tactics: Vec<&str> = inc.tactics.iter().map(|x| x.tactic.as_str()).collect();
        writeln!(w, "  {:<13} {}", "tactics", or_dash(&tactics.join(" -> ")))?;
        for m in &inc.movements {
            writeln!(
                w,
                "  {:<13} {}  {} {} -> {}  (logon type {}{}; {})",
                "movement",
                t(m.time),
                terminal(&m.account),
                terminal(&m.from),
                terminal(&m.to),
                m.logon_type.map_or("-".to_string(), |x| x.to_string()),
                if m.admin { ", admin" } else { "" },
                terminal(&m.methods.join(", "))
            )?;
        }
        let top: Vec<String> = inc
            .rules
            .iter()
            .take(5)
            .map(|x| format!("{} x{}", terminal(&x.rule_title), x.count))
            .collect();
        writeln!(w, "  {:<13} {}", "rules", top.join("; "))?;
        writeln!(w)?;
    }
    writeln!(
        w,
        "{} incident(s) from {} detection(s){}; {} lateral movement(s) seen in the logs",
        r.incidents.len(),
        r.detections,
        if r.undated_detections > 0 {
            format!(" ({} without a time, left out)", r.undated_detections)
        } else {
            String::new()
        },
        r.movements_seen
    )
}

/// The JSON document (docs/investigate.md).
pub fn write_json(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, r).map_err(io::Error::other)?;
    writeln!(w)
}

/// Timesketch columns of the incident timeline, in order.
pub const TIMELINE_COLUMNS: [&str; 11] = [
    "message",
    "datetime",
    "timestamp",
    "timestamp_desc",
    "incident",
    "severity",
    "kind",
    "host",
    "account",
    "source",
    "record_id",
];

/// Every detection and movement of every incident, in time order, as Timesketch rows: CSV,
/// or JSON lines when `jsonl`.
pub fn write_timeline(w: &mut dyn Write, r: &Report, jsonl: bool) -> io::Result<()> {
    let t = dwell_core::time::format;
    let mut rows: Vec<(i64, [String; 11])> = Vec::new();
    for inc in &r.incidents {
        for d in &inc.detections {
            rows.push((
                d.time,
                [
                    format!(
                        "[incident {}] [{}] {} on {}{}",
                        inc.id,
                        d.level,
                        d.rule_title,
                        d.host,
                        d.account
                            .as_ref()
                            .map_or(String::new(), |a| format!(" by {a}"))
                    ),
                    t(d.time),
                    dwell_core::time::micros(d.time).to_string(),
                    "Detection".into(),
                    inc.id.to_string(),
                    inc.severity.clone(),
                    "detection".into(),
                    d.host.clone(),
                    d.account.clone().unwrap_or_default(),
                    d.source.clone(),
                    d.record.to_string(),
                ],
            ));
        }
        for m in &inc.movements {
            let first = m.evidence.first();
            rows.push((
                m.time,
                [
                    format!(
                        "[incident {}] lateral movement: {} from {} to {} (logon type {}; {})",
                        inc.id,
                        m.account,
                        m.from,
                        m.to,
                        m.logon_type.map_or("-".into(), |x| x.to_string()),
                        m.methods.join(", ")
                    ),
                    t(m.time),
                    dwell_core::time::micros(m.time).to_string(),
                    "Lateral Movement".into(),
                    inc.id.to_string(),
                    inc.severity.clone(),
                    "movement".into(),
                    m.to.clone(),
                    m.account.clone(),
                    first.map_or(String::new(), |e| e.source.clone()),
                    first.map_or(String::new(), |e| e.record.to_string()),
                ],
            ));
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    if !jsonl {
        writeln!(w, "{}", TIMELINE_COLUMNS.join(","))?;
    }
    for (_, cols) in rows {
        let mut line = String::with_capacity(256);
        if jsonl {
            line.push('{');
            for (i, (name, v)) in TIMELINE_COLUMNS.iter().zip(&cols).enumerate() {
                if i > 0 {
                    line.push(',');
                }
                push_json(&mut line, name);
                line.push(':');
                match *name {
                    "timestamp" | "incident" | "record_id" if !v.is_empty() => line.push_str(v),
                    _ => push_json(&mut line, v),
                }
            }
            line.push('}');
        } else {
            for (i, v) in cols.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                csv_field(&mut line, v);
            }
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    w.flush()
}
