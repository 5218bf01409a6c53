//! An ATT&CK Navigator layer of what fired: every technique tagged on a rule that fired,
//! scored by its detections, coloured by the gravest level among them and commented with
//! its rules, to open in the MITRE ATT&CK Navigator beside the threat intelligence.

use dwell_detect::Detection;
use dwell_pipeline::{Sink, SinkError, Tables};
use dwell_sigma::Level;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The colour of a level in the layer, and its legend.
pub fn color(level: Option<Level>) -> &'static str {
    match level {
        Some(Level::Critical) => "#862e9c",
        Some(Level::High) => "#e03131",
        Some(Level::Medium) => "#f76707",
        Some(Level::Low) => "#fab005",
        Some(Level::Informational) | None => "#adb5bd",
    }
}

/// `attack.t1059.001` as `T1059.001`; None for tactics, groups and software.
pub fn technique(tag: &str) -> Option<String> {
    let rest = tag.strip_prefix("attack.")?;
    let ok = rest.len() > 1
        && rest.starts_with(['t', 'T'])
        && rest.as_bytes()[1].is_ascii_digit()
        && rest[1..].chars().all(|c| c.is_ascii_digit() || c == '.');
    ok.then(|| rest.to_ascii_uppercase())
}

#[derive(Debug, Default)]
struct Seen {
    detections: u64,
    level: Option<Level>,
    rules: BTreeSet<String>,
}

/// Collects the techniques of the detections it is given.
#[derive(Debug, Default)]
pub struct Navigator {
    by: BTreeMap<String, Seen>,
}

impl Navigator {
    /// The layer (Navigator's layer format 4.5), named `name`.
    pub fn layer(&self, name: &str) -> Value {
        let max = self.by.values().map(|s| s.detections).max().unwrap_or(0);
        let techniques: Vec<Value> = self
            .by
            .iter()
            .map(|(id, s)| {
                let rules: Vec<&String> = s.rules.iter().take(10).collect();
                let more = s.rules.len().saturating_sub(rules.len());
                json!({
                    "techniqueID": id,
                    "score": s.detections,
                    "color": color(s.level),
                    "comment": format!(
                        "{} detection(s), gravest {}: {}{}",
                        s.detections,
                        s.level.map_or("unknown", Level::as_str),
                        rules.iter().map(|r| r.as_str()).collect::<Vec<_>>().join("; "),
                        if more > 0 { format!("; and {more} more rule(s)") } else { String::new() }
                    ),
                    "enabled": true,
                    "showSubtechniques": id.contains('.'),
                })
            })
            .collect();
        let legend: Vec<Value> = [
            Level::Critical,
            Level::High,
            Level::Medium,
            Level::Low,
            Level::Informational,
        ]
        .iter()
        .map(|l| json!({"label": l.as_str(), "color": color(Some(*l))}))
        .collect();
        json!({
            "name": name,
            "versions": {"layer": "4.5", "navigator": "4.9.1"},
            "domain": "enterprise-attack",
            "description": format!(
                "What fired, by dwell {}: each technique's score is its detections, its colour the gravest level among them.",
                env!("CARGO_PKG_VERSION")
            ),
            "sorting": 3,
            "hideDisabled": false,
            "techniques": techniques,
            "gradient": {"colors": ["#ffffff", "#e03131"], "minValue": 0, "maxValue": max.max(1)},
            "legendItems": legend,
            "showTacticRowBackground": false,
            "selectTechniquesAcrossTactics": true,
            "selectSubtechniquesWithParent": false,
        })
    }
}

impl Sink for Navigator {
    fn detection(&mut self, d: &Detection, tables: &Tables<'_>) -> Result<(), SinkError> {
        let Some(r) = tables.rules.get(d.rule as usize) else {
            return Ok(());
        };
        let mut seen_here = BTreeSet::new();
        for t in r.tags.iter().filter_map(|t| technique(t)) {
            // A rule tagged twice with one technique counts once per detection.
            if !seen_here.insert(t.clone()) {
                continue;
            }
            let s = self.by.entry(t).or_default();
            s.detections += 1;
            s.level = s.level.max(r.level);
            s.rules.insert(r.title.clone());
        }
        Ok(())
    }
}
