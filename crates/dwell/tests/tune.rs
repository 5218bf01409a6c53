//! Tuning without forking rules, on the simulated estate: `dwell tune` proposes an exclusion
//! filter for each rule the investigation set aside as routine, from the value its detections
//! share; with the proposals as a `--tuning` folder the same investigation finds the same
//! incidents, detection for detection, and the set-aside noise is gone by exactly what the
//! proposals said they cover. A filter's own `level` re-levels the rules it names; a rule
//! left in a tuning folder is refused, not run.

mod common;

use common::{dwell, p, stderr, stdout};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn investigate(logs: &Path, extra: &[&str]) -> Value {
    let mut a = vec!["investigate", "--format", "json", "--no-progress"];
    a.extend_from_slice(extra);
    a.push(p(logs));
    let o = dwell(&a);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

fn set_aside(v: &Value) -> BTreeMap<String, u64> {
    v["set_aside"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["rule_id"].as_str().unwrap().to_string(),
                s["detections"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn proposed_filters_remove_the_routine_and_leave_the_intrusion_as_it_was() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("demo");
    let o = dwell(&[
        "demo",
        "--out",
        p(&out),
        "--scale",
        "0.1",
        "--color",
        "never",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let proposals = t.path().join("proposed");
    let o = dwell(&[
        "tune",
        p(&out.join("case.dwell")),
        "--out",
        p(&proposals),
        "--min",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = stdout(&o);
    let files: Vec<_> = std::fs::read_dir(&proposals)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!files.is_empty(), "{table}");
    assert_eq!(table.lines().count() - 1, files.len(), "{table}");
    // Each is a filter dwell's own checker accepts.
    let o = dwell(&["rules", "check", p(&proposals)]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let logs = out.join("logs");
    let before = investigate(&logs, &[]);
    let after = investigate(&logs, &["--tuning", p(&proposals)]);
    assert_eq!(
        before["incidents"], after["incidents"],
        "the intrusion is untouched"
    );
    // Each proposal's rule loses what it covered: here, all of its detections.
    let (b, a) = (set_aside(&before), set_aside(&after));
    let mut removed = 0;
    for line in table.lines().skip(1) {
        let covered = line
            .split_whitespace()
            .find(|w| w.contains('/'))
            .and_then(|w| w.split('/').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap();
        removed += covered;
    }
    let gone: u64 = b
        .iter()
        .map(|(k, n)| n - a.get(k).copied().unwrap_or(0))
        .sum();
    assert_eq!(gone, removed, "{b:?} -> {a:?}");
    assert_eq!(
        before["detections"].as_u64().unwrap() - after["detections"].as_u64().unwrap(),
        removed
    );
    // Proposed again, the files are the same and kept.
    let o = dwell(&[
        "tune",
        p(&out.join("case.dwell")),
        "--out",
        p(&proposals),
        "--min",
        "5",
    ]);
    assert!(stderr(&o).contains("(0 written)"), "{}", stderr(&o));
}

#[test]
fn a_filters_level_relevels_and_a_rule_in_a_tuning_folder_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let logs = t.path().join("events.jsonl");
    std::fs::write(
        &logs,
        "{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Computer\":\"h\",\"UtcTime\":\"2025-01-01 10:00:00.000\",\"CommandLine\":\"evil.exe\",\"Image\":\"C:\\\\evil.exe\"}\n",
    )
    .unwrap();
    let rules = t.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    common::write_rule(&rules, "evil.yml", common::EVIL_RULE);
    let tuning = t.path().join("tuning");
    std::fs::create_dir(&tuning).unwrap();
    common::write_rule(
        &tuning,
        "lower.yml",
        "title: Lower evil\nlevel: low\nlogsource: {product: windows}\nfilter:\n  rules: [0e2b5a5c-9d41-4c8e-9a3e-3d0b7c1f0001]\n  any: {Image|exists: true}\n  condition: any or not any\n",
    );
    let hunt = |extra: &[&str]| {
        let mut a = vec![
            "hunt",
            "--rules",
            p(&rules),
            "--format",
            "jsonl",
            "--no-progress",
        ];
        a.extend_from_slice(extra);
        a.push(p(&logs));
        dwell(&a)
    };
    let o = hunt(&[]);
    assert_eq!(common::jsonl(&stdout(&o))[0]["level"], "high");
    let o = hunt(&["--tuning", p(&tuning)]);
    assert_eq!(
        common::jsonl(&stdout(&o))[0]["level"],
        "low",
        "{}",
        stderr(&o)
    );
    // A detection rule does not belong in a tuning folder: named, and not run.
    common::write_rule(
        &tuning,
        "stray.yml",
        &common::EVIL_RULE.replace(
            "0e2b5a5c-9d41-4c8e-9a3e-3d0b7c1f0001",
            "11111111-2222-4333-8444-555555555555",
        ),
    );
    let o = hunt(&["--tuning", p(&tuning)]);
    assert!(
        stderr(&o).contains("stray.yml: a detection rule in --tuning, not run"),
        "{}",
        stderr(&o)
    );
    assert_eq!(common::jsonl(&stdout(&o)).len(), 1);
}
