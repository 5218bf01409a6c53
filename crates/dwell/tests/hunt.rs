//! `dwell hunt` end to end, on the shared real data.

mod common;
use common::*;
use std::collections::BTreeSet;

#[test]
fn attack_samples_output_is_identical_across_threads_runs_and_spills() {
    let Some(shared) = shared() else { return };
    let rules = shared.join("data/sigma/rules");
    let samples = shared.join("data/evtx/attack-samples");
    let run = |threads: &str, sort_mib: &str| {
        let o = dwell(&[
            "hunt",
            "--rules",
            p(&rules),
            p(&samples),
            "--format",
            "jsonl",
            "--threads",
            threads,
            "--sort-memory",
            sort_mib,
        ]);
        // Some files in the folder are not logs (licence, README): completed with skips.
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        stdout(&o)
    };
    let one = run("1", "256");
    let two = run("2", "256");
    let again = run("2", "256");
    let spilled = run("2", "1");
    assert_eq!(one, two, "1 and 2 threads differ");
    assert_eq!(two, again, "two runs differ");
    assert_eq!(two, spilled, "spilling to disk changed the output");
    let dets = jsonl(&one);
    assert!(dets.len() > 500, "only {} detections", dets.len());
    // Sorted by time.
    let times: Vec<&str> = dets
        .iter()
        .map(|d| d["timestamp"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    // Every detection carries the contract fields.
    for d in &dets {
        for k in [
            "timestamp",
            "rule_id",
            "rule_title",
            "level",
            "tags",
            "computer",
            "channel",
            "event_id",
            "record_id",
            "source",
            "event",
        ] {
            assert!(!d[k].is_null(), "{k} missing in {d}");
        }
        assert!(d["event"].is_object());
    }
    // Techniques the samples are known to contain are found.
    let titles: BTreeSet<&str> = dets
        .iter()
        .map(|d| d["rule_title"].as_str().unwrap())
        .collect();
    assert!(titles.len() > 100, "{} distinct rules fired", titles.len());
}

#[test]
fn csv_and_table_formats() {
    let Some(shared) = shared() else { return };
    let rules = shared.join("data/sigma/rules");
    let sample = shared.join("data/evtx/attack-samples/Credential Access");
    let o = dwell(&["hunt", "--rules", p(&rules), p(&sample), "--format", "csv"]);
    let text = stdout(&o);
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        // The contract's columns, in order; new ones only ever at the end.
        "datetime,timestamp,timestamp_desc,message,level,rule_title,rule_id,computer,channel,event_id,record_id,source,tags,matched,rule_path,details,record"
    );
    assert!(lines.count() > 10);
    let o = dwell(&[
        "hunt",
        "--rules",
        p(&rules),
        p(&sample),
        "--format",
        "table",
    ]);
    let text = stdout(&o);
    assert!(text.starts_with("TIME (UTC)"));
    assert!(text.contains("Security/"));
}

#[test]
fn min_level_and_status_filter_rules() {
    let Some(shared) = shared() else { return };
    let rules = shared.join("data/sigma/rules");
    let sample = shared.join("data/evtx/attack-samples");
    let o = dwell(&[
        "hunt",
        "--rules",
        p(&rules),
        p(&sample),
        "--format",
        "jsonl",
        "--min-level",
        "high",
    ]);
    let dets = jsonl(&stdout(&o));
    assert!(!dets.is_empty());
    assert!(
        dets.iter()
            .all(|d| d["level"] == "high" || d["level"] == "critical")
    );
    let o = dwell(&[
        "hunt",
        "--rules",
        p(&rules),
        p(&sample),
        "--format",
        "jsonl",
        "--status",
        "stable",
    ]);
    assert!(jsonl(&stdout(&o)).iter().all(|d| d["status"] == "stable"));
}

#[test]
fn coverage_explains_what_ran() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cov = dir.path().join("coverage.json");
    let rules = shared.join("data/sigma/rules");
    let sample = shared.join("data/evtx/parser-samples");
    let o = dwell(&[
        "hunt",
        "--rules",
        p(&rules),
        p(&sample),
        "-o",
        p(&dir.path().join("out.jsonl")),
        "--coverage",
        p(&cov),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let c: serde_json::Value = read_json(&cov);
    let inputs = c["inputs"].as_array().unwrap();
    let sec = inputs
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with("/security.evtx"))
        .unwrap();
    assert_eq!(sec["format"], "evtx");
    assert!(sec["events"].as_u64().unwrap() > 1000);
    assert!(sec["channels"]["Security"].as_u64().unwrap() > 1000);
    assert!(sec["first_event"].as_str().unwrap() <= sec["last_event"].as_str().unwrap());
    let damaged = inputs
        .iter()
        .find(|i| {
            i["path"]
                .as_str()
                .unwrap()
                .ends_with("sample_with_a_bad_chunk_magic.evtx")
        })
        .unwrap();
    assert!(damaged["problems"].as_u64().unwrap() > 0);
    assert!(
        damaged["events"].as_u64().unwrap() > 0,
        "the good chunks are still read"
    );
    let skipped = inputs
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with("LICENSE-MIT"))
        .unwrap();
    assert!(skipped["skipped"].as_str().unwrap().contains("not a log"));
    let rules = c["rules"].as_array().unwrap();
    let states: BTreeSet<&str> = rules.iter().map(|r| r["state"].as_str().unwrap()).collect();
    assert!(states.contains("run") && states.contains("unmapped"));
    let fired: u64 = rules.iter().map(|r| r["fired"].as_u64().unwrap()).sum();
    assert!(fired > 0);
    // A rule that ran on Security events but found nothing says so.
    assert!(rules.iter().any(|r| r["state"] == "run"
        && r["logsource_seen"] == true
        && r["fired"] == 0
        && r["events_checked"].as_u64().unwrap() > 0));
    assert!(
        rules
            .iter()
            .any(|r| r["state"] == "run" && r["logsource_seen"] == false)
    );
}

#[test]
fn json_renderings_give_the_same_detections_as_evtx() {
    let Some(shared) = shared() else { return };
    let rules = shared.join("data/sigma/rules");
    let root = shared.join("data/sigma-regression/regression_data/rules/windows/process_creation");
    let case = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let find = |ext: &str| {
        std::fs::read_dir(&case)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == ext))
            .unwrap()
    };
    let ids = |path: &std::path::Path| -> Vec<(String, String)> {
        let o = dwell(&["hunt", "--rules", p(&rules), p(path), "--format", "jsonl"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        jsonl(&stdout(&o))
            .iter()
            .map(|d| {
                (
                    d["timestamp"].as_str().unwrap().to_string(),
                    d["rule_id"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let evtx = ids(&find("evtx"));
    assert!(!evtx.is_empty());
    assert_eq!(evtx, ids(&find("json")));
}

#[test]
fn dedup_drops_the_second_copy_of_a_log() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let src = shared.join("data/evtx/attack-samples/Execution");
    let mut n = 0;
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "evtx") {
            for copy in ["live", "backup"] {
                std::fs::create_dir_all(dir.path().join(copy)).unwrap();
                std::fs::copy(e.path(), dir.path().join(copy).join(e.file_name())).unwrap();
            }
            n += 1;
        }
    }
    assert!(n > 3);
    let rules = shared.join("data/sigma/rules");
    let count = |extra: &[&str]| {
        let mut args = vec![
            "hunt",
            "--rules",
            p(&rules),
            p(dir.path()),
            "--format",
            "jsonl",
        ];
        args.extend_from_slice(extra);
        let o = dwell(&args);
        (jsonl(&stdout(&o)).len(), stderr(&o))
    };
    let (all, _) = count(&[]);
    let (dedup, err) = count(&["--dedup"]);
    assert!(all > 0);
    assert_eq!(all, dedup * 2, "{err}");
    assert!(err.contains("duplicate detection"));
}

/// `matched` shows the value that made the rule fire. For a repeated field (unnamed `Data`
/// elements) that is the matching element, not the last one: SigmaHQ's "MSI Installation From
/// Web" on an MsiInstaller 1040 event whose URL is the second of three `Data` values.
#[test]
fn matched_shows_the_array_element_that_matched() {
    let Some(shared) = shared() else { return };
    let rule = shared.join(
        "data/sigma/rules/windows/builtin/application/msiinstaller/win_msi_install_from_web.yml",
    );
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("application.jsonl");
    let url = "https://attacker.example/payload.msi";
    std::fs::write(
        &log,
        format!(
            r##"{{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":"MsiInstaller"}}}},"EventID":1040,"Channel":"Application","Computer":"ws01","EventRecordID":9,"TimeCreated":{{"#attributes":{{"SystemTime":"2024-05-01T10:00:00Z"}}}}}},"EventData":{{"Data":["(NULL)","{url}",""]}}}}}}"##
        ),
    )
    .unwrap();
    let o = dwell(&["hunt", "--rules", p(&rule), p(&log), "--format", "jsonl"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dets = jsonl(&stdout(&o));
    assert_eq!(dets.len(), 1, "{dets:?}");
    assert_eq!(dets[0]["rule_title"], "MSI Installation From Web");
    assert_eq!(dets[0]["matched"]["Data"], url);
    assert_eq!(dets[0]["matched"]["Provider_Name"], "MsiInstaller");
}
