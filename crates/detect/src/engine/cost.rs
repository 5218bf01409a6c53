//! Rules that cost the engine dearly on every event, found before a hunt: `rules check` lists
//! them with a measured estimate. A value list is cheap when its values have literals (the
//! prefilter and the value index skip the text that cannot match); what stays costly is a
//! long list of tests with nothing to look for (regular expressions without a literal,
//! patterns of one or two characters between wildcards), tried one by one.

use super::compile::{CItem, CMatcher, Variant, compile_variant};
use super::prefilter::need_variant;
use crate::fields::FieldTable;
use crate::mapping::Source;
use dwell_sigma::{Rule, Value, ValueKind};
use std::time::Instant;

/// A rule flagged as costly.
#[derive(Debug, Clone, PartialEq)]
pub struct Costly {
    /// `path:line`.
    pub location: String,
    /// The rule's id, or `-`.
    pub id: String,
    /// Its title.
    pub title: String,
    /// What it costs, and why.
    pub why: String,
}

/// Tests tried one by one per evaluation above which a rule is flagged.
const MANY: usize = 2_000;

/// Estimated time per evaluation above which a rule is flagged, in nanoseconds.
const SLOW_NS: f64 = 200_000.0;

/// The tests of `it` that are tried one by one on each evaluation.
fn one_by_one(it: &CItem) -> Vec<&CMatcher> {
    match it.value_index() {
        Some(ix) => ix
            .always
            .iter()
            .flat_map(|&v| it.values[v as usize].iter())
            .collect(),
        None => it.values.iter().flatten().collect(),
    }
}

/// A realistic field value to time tests on: 200 characters of a command line.
fn sample() -> String {
    let mut s = String::from(
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -NoProfile -ExecutionPolicy Bypass -Command ",
    );
    while s.len() < 200 {
        s.push_str("Get-ChildItem -Path C:\\Users\\Public ");
    }
    s.truncate(200);
    s
}

/// The time one evaluation of `tests` takes on a 200-character value, in nanoseconds,
/// measured on a sample of them.
fn measure(tests: &[&CMatcher]) -> f64 {
    let raw = sample();
    let folded = dwell_sigma::pattern::fold(&raw).into_owned();
    let v = Value {
        raw: &raw,
        folded: &folded,
        kind: ValueKind::Str,
    };
    let step = (tests.len() / 500).max(1);
    let picked: Vec<&CMatcher> = tests.iter().step_by(step).copied().collect();
    let start = Instant::now();
    let mut hits = 0usize;
    for _ in 0..3 {
        for m in &picked {
            if let CMatcher::M(m) = m {
                hits += m.is_match(&v) as usize;
            }
        }
    }
    std::hint::black_box(hits);
    start.elapsed().as_nanos() as f64 / 3.0 * (tests.len() as f64 / picked.len().max(1) as f64)
}

fn items(v: &Variant) -> impl Iterator<Item = &CItem> {
    v.searches.iter().flatten().flatten()
}

fn duration(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.1} ms", ns / 1e6)
    } else {
        format!("{:.0} µs", ns / 1e3)
    }
}

/// The rules among `rules` whose evaluation tries many tests one by one, with what it costs.
pub fn costly(rules: &[Rule]) -> Vec<Costly> {
    let mut out = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let src = Source {
            logsource: r.logsource.clone(),
            channels: vec!["-".into()],
            format: None,
            event_ids: None,
            conditions: Vec::new(),
            fields: Vec::new(),
        };
        let mut table = FieldTable::default();
        let v = compile_variant(i as u32, r, &src, &mut table);
        let tests: Vec<&CMatcher> = items(&v).flat_map(one_by_one).collect();
        if tests.len() < 64 {
            continue;
        }
        let ns = measure(&tests);
        if tests.len() < MANY && ns < SLOW_NS {
            continue;
        }
        let every = need_variant(&v).is_none();
        out.push(Costly {
            location: r.origin.location(),
            id: r.meta.id.clone().unwrap_or_else(|| "-".into()),
            title: r.meta.title.clone(),
            why: format!(
                "costly: {} tests with nothing to look for first (regular expressions without a literal, or wildcard patterns of short literals) are tried one by one each time it is evaluated, {}; about {} per evaluation on a 200-character value",
                tests.len(),
                if every {
                    "which is on every event of its log source"
                } else {
                    "which is on every event containing one of its literals"
                },
                duration(ns)
            ),
        });
    }
    out
}
