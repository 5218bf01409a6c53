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

/// Movements folded by route: account, from, to, how many, first time, methods.
type Route<'a> = (&'a str, &'a str, &'a str, usize, i64, Vec<&'a str>);

/// Most leads listed on the terminal; the JSON document has them all.
const LEADS_SHOWN: usize = 15;

/// The terminal summary: campaigns gravest first, each told in a screen (first event, impact,
/// dwell times, what it compromised and how, tactics, the storyline in stages, movements
/// folded by account and route), then leads one line each, then what was set aside and why.
/// Names come from logs: each passes through [`terminal`] before it is printed.
pub fn write_table(w: &mut dyn Write, r: &Report, color: bool) -> io::Result<()> {
    let t = dwell_core::time::format;
    let or_dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            terminal(s).into_owned()
        }
    };
    let short = |ns: i64| t(ns).get(..16).unwrap_or("").replace('T', " ");
    for inc in r.incidents.iter().filter(|i| i.campaign) {
        let accounts = inc
            .compromised
            .iter()
            .filter(|c| c.kind == "account")
            .count();
        writeln!(
            w,
            "{}  {}  {} host(s), {} compromised account(s), {} detection(s)",
            paint(color, "1", &format!("CAMPAIGN {}", inc.id)),
            paint(
                color,
                severity_code(&inc.severity),
                &format!("[{}]", terminal(&inc.severity))
            ),
            inc.hosts.len(),
            accounts,
            inc.detections.len()
        )?;
        let line =
            |w: &mut dyn Write, label: &str, d: &dwell_investigate::DetectionRef, tail: String| {
                writeln!(
                    w,
                    "  {label:<13} {}  {}  {}  ({} record {}){tail}",
                    t(d.time),
                    or_dash(&d.host),
                    terminal(&d.rule_title),
                    terminal(&d.source),
                    d.record
                )
            };
        line(w, "first event", &inc.first, String::new())?;
        if let (Some(d), Some(s)) = (&inc.impact, inc.dwell_to_impact_seconds) {
            line(
                w,
                "impact",
                d,
                format!("; dwell time to impact {}", duration(s)),
            )?;
        }
        line(
            w,
            "last",
            &inc.last,
            format!("; dwell time {}", duration(inc.dwell_seconds)),
        )?;
        for (k, c) in inc.compromised.iter().enumerate() {
            writeln!(
                w,
                "  {:<13} {:<7} {}  since {}: {}{}",
                if k == 0 { "compromised" } else { "" },
                c.kind,
                terminal(&c.name),
                short(c.first_abuse),
                terminal(&c.how),
                match &c.remediated {
                    Some(m) => format!("; remediated {} ({})", short(m.time), terminal(&m.how)),
                    None => String::new(),
                }
            )?;
        }
        let named: Vec<String> = inc
            .accounts
            .iter()
            .filter(|a| !inc.compromised.iter().any(|c| c.name == a.name))
            .map(|a| terminal(&a.name).into_owned())
            .collect();
        if !named.is_empty() {
            writeln!(
                w,
                "  {:<13} {} (named, not compromised)",
                "also named",
                named.join(", ")
            )?;
        }
        let tactics: Vec<&str> = inc.tactics.iter().map(|x| x.tactic.as_str()).collect();
        writeln!(w, "  {:<13} {}", "tactics", or_dash(&tactics.join(" -> ")))?;
        for (k, s) in inc.stages.iter().enumerate() {
            writeln!(
                w,
                "  {:<13} {} {}  {}  {}",
                if k == 0 { "storyline" } else { "" },
                s.stage,
                short(s.first),
                or_dash(&s.hosts.join(", ")),
                terminal(&s.headline.join("; "))
            )?;
        }
        // Movements folded by account and route, so hundreds of logons read as a few lines.
        let mut routes: Vec<Route<'_>> = Vec::new();
        for m in &inc.movements {
            match routes
                .iter_mut()
                .find(|r| (r.0, r.1, r.2) == (m.account.as_str(), m.from.as_str(), m.to.as_str()))
            {
                Some(r) => {
                    r.3 += 1;
                    for x in &m.methods {
                        if !r.5.contains(&x.as_str()) {
                            r.5.push(x);
                        }
                    }
                }
                None => routes.push((
                    &m.account,
                    &m.from,
                    &m.to,
                    1,
                    m.time,
                    m.methods.iter().map(String::as_str).collect(),
                )),
            }
        }
        for (k, (a, from, to, n, first, how)) in routes.iter().enumerate() {
            writeln!(
                w,
                "  {:<13} {}  {} {} -> {}{}  ({})",
                if k == 0 { "movements" } else { "" },
                short(*first),
                terminal(a),
                terminal(from),
                terminal(to),
                if *n > 1 {
                    format!(" x{n}")
                } else {
                    String::new()
                },
                terminal(&how.join(", "))
            )?;
        }
        writeln!(w)?;
    }
    let leads: Vec<_> = r.incidents.iter().filter(|i| !i.campaign).collect();
    for inc in leads.iter().take(LEADS_SHOWN) {
        writeln!(
            w,
            "{}  {}  {}  {}  {} detection(s); host {}, account {}",
            paint(color, "1", &format!("LEAD {}", inc.id)),
            paint(
                color,
                severity_code(&inc.severity),
                &format!("[{}]", terminal(&inc.severity))
            ),
            short(inc.first.time),
            terminal(&inc.first.rule_title),
            inc.detections.len(),
            or_dash(inc.patient_zero.host.as_deref().unwrap_or("")),
            or_dash(inc.patient_zero.account.as_deref().unwrap_or(""))
        )?;
    }
    if leads.len() > LEADS_SHOWN {
        writeln!(
            w,
            "... and {} more lead(s) in the JSON document",
            leads.len() - LEADS_SHOWN
        )?;
    }
    if !leads.is_empty() {
        writeln!(w)?;
    }
    for s in &r.sanctioned {
        writeln!(
            w,
            "sanctioned    {} ({}) covered {} detection(s) on {} from {} to {}",
            terminal(&s.ticket),
            terminal(&s.summary),
            s.detections.len(),
            or_dash(s.host.as_deref().unwrap_or("")),
            short(s.start),
            short(s.end)
        )?;
    }
    let aside: Vec<String> = r
        .set_aside
        .iter()
        .filter(|s| s.reason != "sanctioned")
        .take(5)
        .map(|s| {
            format!(
                "{} x{} ({})",
                terminal(&s.rule_title),
                s.detections,
                s.reason
            )
        })
        .collect();
    if !aside.is_empty() {
        writeln!(w, "set aside     {}", aside.join("; "))?;
    }
    let aside_total: usize = r.set_aside.iter().map(|s| s.detections).sum();
    writeln!(
        w,
        "{} campaign(s) and {} lead(s) from {} detection(s); {} set aside as routine, sanctioned or unattached (the JSON document says why){}; {} lateral movement(s) seen in the logs",
        r.campaigns,
        leads.len(),
        r.detections,
        aside_total,
        if r.undated_detections > 0 {
            format!("; {} without a time, left out", r.undated_detections)
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
pub const TIMELINE_COLUMNS: [&str; 17] = [
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
    "rule_title",
    "level",
    "rule_id",
    "tactics",
    "techniques",
    "incident_severity",
];

/// A rule's ATT&CK tactics and techniques from its tags, each joined with `;`.
fn attack(tags: &[String]) -> (String, String) {
    let mut tactics = Vec::new();
    let mut techniques = Vec::new();
    for t in tags {
        let Some(rest) = t.strip_prefix("attack.") else {
            continue;
        };
        let id = |p: &[char]| {
            rest.len() > 1
                && rest.starts_with(p)
                && rest[1..].chars().all(|c| c.is_ascii_digit() || c == '.')
        };
        if id(&['t', 'T']) {
            techniques.push(rest.to_ascii_uppercase());
        } else if !id(&['g', 'G', 's', 'S']) {
            // Groups (g0010) and software (s0002) are neither.
            tactics.push(rest.replace('_', "-"));
        }
    }
    (tactics.join(";"), techniques.join(";"))
}

/// Every detection and movement of every incident, in time order, as Timesketch rows: CSV,
/// or JSON lines when `jsonl`. A detection's `severity` is its own rule's level; the
/// incident's is `incident_severity`.
pub fn write_timeline(w: &mut dyn Write, r: &Report, jsonl: bool) -> io::Result<()> {
    let t = dwell_core::time::format;
    let mut rows: Vec<(i64, [String; 17])> = Vec::new();
    for inc in &r.incidents {
        for d in &inc.detections {
            let (tactics, techniques) = attack(&d.tags);
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
                    d.level.clone(),
                    "detection".into(),
                    d.host.clone(),
                    d.account.clone().unwrap_or_default(),
                    d.source.clone(),
                    d.record.to_string(),
                    d.rule_title.clone(),
                    d.level.clone(),
                    d.rule_id.clone(),
                    tactics,
                    techniques,
                    inc.severity.clone(),
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
                    String::new(),
                    String::new(),
                    String::new(),
                    "lateral-movement".into(),
                    String::new(),
                    inc.severity.clone(),
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
