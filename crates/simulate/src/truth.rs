//! The ground truth, computed from the records as written: where the attack's records landed,
//! when it began and struck, who and what it touched, which look-alikes are there, and whose data
//! left, by evaluating the exporting statements as logged against the table snapshots.

use crate::Config;
use crate::format::iso_ms;
use crate::story::Tag;
use crate::write::{Marked, Written};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The ground truth of one simulation.
#[derive(Debug, Clone)]
pub struct Truth {
    /// The document written as `truth.json` (docs/simulate.md).
    pub json: Value,
    /// The first malicious record's time (ms), if any was written.
    pub first_malicious: Option<i64>,
    /// When the encryptor ran, if the story got that far.
    pub impact: Option<i64>,
    /// People whose accounts the intruder used.
    pub people: Vec<String>,
    /// Hosts the intruder touched.
    pub hosts: Vec<String>,
    /// Distinct people whose data left, per personal-data category.
    pub exposed: BTreeMap<String, usize>,
    /// Distinct people whose data left, in any category.
    pub exposed_people: usize,
    /// Records (file, line) of the attack.
    pub malicious: Vec<(String, usize)>,
    /// Records (file, line) of the look-alikes, with their names.
    pub decoys: Vec<(String, usize, String)>,
}

/// The person an account belongs to: `NORTHGATE\j.doe`, `j.doe@northgate.example` and `j.doe`
/// are all `j.doe`.
pub fn person(account: &str) -> String {
    let a = account.rsplit('\\').next().unwrap_or(account);
    a.split('@').next().unwrap_or(a).to_lowercase()
}

pub(crate) fn compute(cfg: &Config, w: &Written) -> Truth {
    let mut attack: Vec<&Marked> = w
        .marked
        .iter()
        .filter(|m| matches!(m.tag, Tag::Attack(_)))
        .collect();
    attack.sort_by_key(|m| (m.t, m.file, m.line));
    let first = attack.first().map(|m| m.t);
    let impact = attack
        .iter()
        .find(|m| matches!(&m.tag, Tag::Attack(a) if a.stage == 12) && runs_from_tmp(&m.text))
        .map(|m| m.t);
    let mut people: BTreeMap<String, (i64, BTreeSet<String>)> = BTreeMap::new();
    let mut hosts: BTreeMap<String, i64> = BTreeMap::new();
    let mut stages: BTreeMap<u8, (i64, usize, BTreeSet<&str>)> = BTreeMap::new();
    for m in &attack {
        let Tag::Attack(a) = &m.tag else { continue };
        for acc in &a.accounts {
            let e = people.entry(person(acc)).or_insert((m.t, BTreeSet::new()));
            e.1.insert(acc.clone());
        }
        for h in &a.hosts {
            hosts.entry(h.to_string()).or_insert(m.t);
        }
        let s = stages.entry(a.stage).or_insert((m.t, 0, BTreeSet::new()));
        s.1 += 1;
        s.2.insert(a.what);
    }
    let (exposed, exposed_people, exports) = exposure(&attack, &w.snapshots);
    let decoys: Vec<(String, usize, String)> = w
        .marked
        .iter()
        .filter_map(|m| match m.tag {
            Tag::Decoy(name) => Some((m.file.to_string(), m.line, name.to_string())),
            _ => None,
        })
        .collect();
    let json = json!({
        "seed": cfg.seed,
        "scale": cfg.scale,
        "until": cfg.until.map(iso_ms),
        "files": w.files.iter().map(|(f, n)| (f.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "first_malicious": attack.first().map(|m| json!({"time": iso_ms(m.t), "file": m.file, "line": m.line})),
        "impact": impact.map(iso_ms),
        "dwell_time_days": match (first, impact) {
            (Some(f), Some(i)) => json!(((i - f) as f64 / 86_400_000.0 * 100.0).round() / 100.0),
            _ => Value::Null,
        },
        "stages": stages.iter().map(|(s, (t, n, whats))| json!({
            "stage": s, "first": iso_ms(*t), "records": n, "steps": whats,
        })).collect::<Vec<_>>(),
        "compromised_people": people.iter().map(|(p, (t, ids))| json!({
            "person": p, "first_abuse": iso_ms(*t), "identities": ids,
        })).collect::<Vec<_>>(),
        "compromised_hosts": hosts.iter().map(|(h, t)| json!({"host": h, "first_abuse": iso_ms(*t)})).collect::<Vec<_>>(),
        "malicious_records": attack.iter().map(|m| {
            let Tag::Attack(a) = &m.tag else { unreachable!() };
            json!({"time": iso_ms(m.t), "file": m.file, "line": m.line, "stage": a.stage, "step": a.what})
        }).collect::<Vec<_>>(),
        "decoys": w.marked.iter().filter_map(|m| match m.tag {
            Tag::Decoy(name) => Some(json!({"decoy": name, "time": iso_ms(m.t), "file": m.file, "line": m.line})),
            _ => None,
        }).collect::<Vec<_>>(),
        "exposed": {
            "people": exposed_people,
            "by_category": exposed,
            "exports": exports,
        },
    });
    Truth {
        json,
        first_malicious: first,
        impact,
        people: people.keys().cloned().collect(),
        hosts: hosts.keys().cloned().collect(),
        exposed,
        exposed_people,
        malicious: attack
            .iter()
            .map(|m| (m.file.to_string(), m.line))
            .collect(),
        decoys,
    }
}

/// A shell command that runs a program from `/tmp` (the encryptor), as the line says.
fn runs_from_tmp(line: &str) -> bool {
    line.split_once("]: [")
        .and_then(|(_, rest)| rest.split_once("]: "))
        .is_some_and(|(_, cmd)| cmd.starts_with("/tmp/"))
}

/// Which people's data left, per category: each `COPY (SELECT cols FROM table WHERE
/// customer_id BETWEEN a AND b)` the attack's database records logged, evaluated against the
/// table's snapshot.
fn exposure(
    attack: &[&Marked],
    snapshots: &[(&'static str, String)],
) -> (BTreeMap<String, usize>, usize, Vec<Value>) {
    let mut by_cat: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    let mut everyone: BTreeSet<u64> = BTreeSet::new();
    let mut exports = Vec::new();
    for m in attack {
        let Some(stmt) = copy_statement(&m.text) else {
            continue;
        };
        let Some((cols, table, lo, hi)) = parse_copy(&stmt) else {
            continue;
        };
        let Some((_, snap)) = snapshots
            .iter()
            .find(|(p, _)| p.ends_with(&format!("{table}.csv")))
        else {
            continue;
        };
        let mut lines = snap.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
        let key = header.iter().position(|h| *h == "customer_id").unwrap_or(0);
        let mut rows = 0usize;
        let mut keys = BTreeSet::new();
        for l in lines {
            let Some(id) = l.split(',').nth(key).and_then(|v| v.parse::<u64>().ok()) else {
                continue;
            };
            if (lo..=hi).contains(&id) {
                rows += 1;
                keys.insert(id);
            }
        }
        for c in &cols {
            if let Some(cat) = category(c) {
                by_cat.entry(cat.to_string()).or_default().extend(&keys);
            }
        }
        everyone.extend(&keys);
        exports.push(json!({
            "file": m.file, "line": m.line, "table": table, "columns": cols,
            "rows": rows, "people": keys.len(),
        }));
    }
    (
        by_cat.into_iter().map(|(c, k)| (c, k.len())).collect(),
        everyone.len(),
        exports,
    )
}

/// The personal-data category of a column of the retailer's tables.
fn category(column: &str) -> Option<&'static str> {
    Some(match column {
        "first_name" | "last_name" => "name",
        "email" => "email",
        "date_of_birth" => "date_of_birth",
        "phone" => "phone",
        "postcode" | "address_line1" => "postal_address",
        "order_id" | "delivery_postcode" | "items_json" => "order_history",
        _ => return None,
    })
}

/// The statement of a csvlog row's pgaudit message, unquoted: the statement is a CSV value of
/// the audit message, itself a CSV value of the row, so a quote in it is written four times.
fn copy_statement(row: &str) -> Option<String> {
    let at = row.find("COPY (")?;
    let rest = &row[at..];
    let end = rest.find(") TO STDOUT")?;
    Some(rest[..end + 1].replace("\"\"\"\"", "\""))
}

/// `COPY (SELECT a, b FROM t WHERE customer_id BETWEEN lo AND hi)`.
fn parse_copy(s: &str) -> Option<(Vec<String>, String, u64, u64)> {
    let inner = s.strip_prefix("COPY (SELECT ")?.strip_suffix(')')?;
    let (cols, rest) = inner.split_once(" FROM ")?;
    let (table, cond) = rest.split_once(" WHERE ")?;
    let range = cond.strip_prefix("customer_id BETWEEN ")?;
    let (lo, hi) = range.split_once(" AND ")?;
    Some((
        cols.split(',').map(|c| c.trim().to_string()).collect(),
        table.trim().to_string(),
        lo.trim().parse().ok()?,
        hi.trim().parse().ok()?,
    ))
}
