//! Tuning proposals: for each rule an investigation set aside as background (routine or
//! widespread), the one field value most of its detections share, outside the fields the
//! rule itself matches on, written as a Sigma exclusion filter for a person to review and put
//! in a tuning folder (`--tuning`), where it survives rule updates.

use crate::case::Noise;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

/// The fields a proposal may exclude on, most specific first: who ran what from where.
pub const CONTEXT: &[&str] = &[
    "ParentCommandLine",
    "CommandLine",
    "ParentImage",
    "Image",
    "ServiceName",
    "TaskName",
    "TargetFilename",
    "QueryName",
    "DestinationHostname",
    "ProcessName",
    "User",
    "SubjectUserName",
    "TargetUserName",
    "WorkstationName",
    "IpAddress",
    "application_name",
    "user_name",
    "remote_host",
    "Computer",
];

/// A value must cover at least this share of a rule's detections to be proposed.
pub const MIN_SHARE: f64 = 0.5;

/// One proposed filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// The rule it tunes.
    pub rule_id: String,
    /// Its title.
    pub rule_title: String,
    /// Its level.
    pub level: String,
    /// Why the investigation set it aside.
    pub reason: String,
    /// The field and value to exclude.
    pub field: String,
    /// The value.
    pub value: String,
    /// Detections with that value, of those read.
    pub covered: u64,
    /// Detections read.
    pub sampled: u64,
    /// All the rule's set-aside detections.
    pub total: u64,
    /// Hosts of the covered detections.
    pub hosts: Vec<String>,
    /// The filter, as a Sigma document.
    pub yaml: String,
    /// A file name for it.
    pub file: String,
}

/// A Sigma value matching `s` exactly: its wildcards and backslashes escaped, YAML-quoted.
fn literal(s: &str) -> String {
    let v = s
        .replace('\\', "\\\\")
        .replace('*', "\\*")
        .replace('?', "\\?");
    format!("'{}'", v.replace('\'', "''"))
}

/// A stable id for a proposal, as a UUID.
fn uuid(parts: &[&str]) -> String {
    let mut out = String::new();
    for seed in [0x64_77_65_6c_u64, 0x74_75_6e_65] {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        seed.hash(&mut h);
        parts.hash(&mut h);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    format!(
        "{}-{}-4{}-8{}-{}",
        &out[0..8],
        &out[8..12],
        &out[13..16],
        &out[17..20],
        &out[20..32]
    )
}

fn windows(channel: &str) -> bool {
    channel.starts_with("Microsoft-Windows-")
        || ["Security", "System", "Application", "Windows PowerShell"].contains(&channel)
}

/// The proposals for the rules set aside with at least `min` detections, noisiest first.
pub fn propose(noise: &[Noise], case: &str, min: u64) -> Vec<Proposal> {
    let mut out = Vec::new();
    for n in noise {
        if n.detections < min || n.rule_id.is_empty() || n.events.is_empty() {
            continue;
        }
        let sampled = n.events.len() as u64;
        let mut best: Option<(u64, usize, String, String)> = None;
        for (rank, field) in CONTEXT.iter().enumerate() {
            if n.matched.contains(*field) {
                continue;
            }
            let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
            for (_, e) in &n.events {
                if let Some(v) = e.get(*field).and_then(|v| v.as_str()) {
                    let v = v.trim();
                    // A value on several lines would not survive YAML's folding intact.
                    if !v.is_empty() && v != "-" && !v.contains(['\n', '\r']) {
                        *counts.entry(v).or_default() += 1;
                    }
                }
            }
            let Some((v, c)) = counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))) else {
                continue;
            };
            let better = best
                .as_ref()
                .is_none_or(|(bc, br, _, _)| *c > *bc || (*c == *bc && rank < *br));
            if better {
                best = Some((*c, rank, field.to_string(), v.to_string()));
            }
        }
        let Some((covered, _, field, value)) = best else {
            continue;
        };
        if (covered as f64) < MIN_SHARE * sampled as f64 {
            continue;
        }
        let hosts: Vec<String> = n
            .events
            .iter()
            .filter(|(_, e)| e.get(&field).and_then(|v| v.as_str()).map(str::trim) == Some(&value))
            .map(|(h, _)| h.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let id = uuid(&[&n.rule_id, &field, &value]);
        let shown: String = value.chars().take(60).collect();
        let yaml = format!(
            "# Proposed by dwell tune from {case}: review it, then move it into a tuning folder\n\
             # (dwell hunt --tuning DIR). It hides {covered} of {sampled} set-aside detections read\n\
             # ({total} in all) of this rule, on {h} host(s): {hosts}.\n\
             title: {title}\n\
             id: {id}\n\
             status: experimental\n\
             description: {desc}\n\
             author: dwell tune\n\
             logsource: {ls}\n\
             filter:\n  rules:\n    - {rule}\n  selection:\n    {field}: {value}\n  condition: not selection\n",
            total = n.detections,
            h = hosts.len(),
            hosts = hosts
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            title = literal(&format!("Tuning: {} when {field} is {shown}", n.rule_title)),
            desc = literal(&format!(
                "The investigation set this rule's detections aside as {} ({}); {covered} of the {sampled} read had {field} = {value}.",
                n.reason, n.why
            )),
            ls = if windows(&n.channel) {
                "{product: windows}"
            } else {
                "{}"
            },
            rule = literal(&n.rule_id),
            value = literal(&value),
        );
        let slug: String = n
            .rule_title
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
            .split('_')
            .filter(|s| !s.is_empty())
            .take(8)
            .collect::<Vec<_>>()
            .join("_");
        out.push(Proposal {
            rule_id: n.rule_id.clone(),
            rule_title: n.rule_title.clone(),
            level: n.level.clone(),
            reason: n.reason.clone(),
            file: format!("tune_{slug}_{}.yml", &id[..8]),
            field,
            value,
            covered,
            sampled,
            total: n.detections,
            hosts,
            yaml,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_context_value_is_proposed_and_the_rules_own_fields_left_alone() {
        let ev = |parent: &str, image: &str| {
            let mut m = serde_json::Map::new();
            m.insert("ParentImage".into(), parent.into());
            m.insert("Image".into(), image.into());
            ("h1".to_string(), m)
        };
        let n = Noise {
            rule_id: "r-1".into(),
            rule_title: "Non Interactive PowerShell".into(),
            level: "low".into(),
            reason: "routine".into(),
            why: "seen on 40 days".into(),
            channel: "Microsoft-Windows-Sysmon/Operational".into(),
            events: vec![
                ev("C:\\Agent\\*run?.exe", "C:\\powershell.exe"),
                ev("C:\\Agent\\*run?.exe", "C:\\powershell.exe"),
                ev("C:\\other.exe", "C:\\powershell.exe"),
            ],
            matched: ["Image".to_string()].into_iter().collect(),
            detections: 3,
        };
        let p = propose(std::slice::from_ref(&n), "case.dwell", 2);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].field.as_str(), p[0].covered), ("ParentImage", 2));
        assert!(
            p[0].yaml
                .contains("ParentImage: 'C:\\\\Agent\\\\\\*run\\?.exe'"),
            "{}",
            p[0].yaml
        );
        let docs = dwell_sigma::yaml::load_all(&p[0].yaml, Default::default()).unwrap();
        assert_eq!(docs.len(), 1);
        assert!(
            propose(&[n], "case.dwell", 10).is_empty(),
            "too few detections"
        );
    }
}
