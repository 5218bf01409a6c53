//! Bad input never crashes and never silently loses data: each problem is named, counted, and
//! the rest is processed.

mod common;
use common::*;
use std::io::Write;
use std::path::Path;

fn event(cmd: &str, t: &str) -> String {
    format!(
        r##"{{"Event":{{"System":{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Computer":"h1","EventRecordID":7,"TimeCreated":{{"#attributes":{{"SystemTime":"{t}"}}}}}},"EventData":{{"CommandLine":"{cmd}","Image":"C:\\x.exe"}}}}}}"##
    )
}

fn jsonl_text() -> String {
    format!(
        "{}\n{{\"Event\": {{\"broken\n{}\n",
        event("run evil.exe", "2024-01-01T00:00:00Z"),
        event("more evil", "2024-01-01T00:00:01Z")
    )
}

#[test]
fn bad_inputs_are_named_counted_and_the_rest_is_processed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rule = write_rule(d, "rule.yml", EVIL_RULE);
    let logs = d.join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(logs.join("good.jsonl"), jsonl_text()).unwrap();
    std::fs::write(logs.join("fake.evtx"), "this is not an event log\n").unwrap();
    std::fs::write(logs.join("binary.bin"), [0u8, 159, 146, 150, 0, 1, 2, 3]).unwrap();
    std::fs::write(logs.join("empty.json"), "").unwrap();
    let mut header_only = b"ElfFile\0".to_vec();
    header_only.extend_from_slice(&[7u8; 100]);
    std::fs::write(logs.join("header-only.evtx"), header_only).unwrap();
    std::os::unix::fs::symlink(d.join("missing"), logs.join("dangling.json")).unwrap();
    if let Some(shared) = shared() {
        let sec = std::fs::read(shared.join("data/evtx/parser-samples/security.evtx")).unwrap();
        // A file cut in the middle of a chunk.
        std::fs::write(
            logs.join("truncated.evtx"),
            &sec[..4096 + 65536 * 3 + 30000],
        )
        .unwrap();
    }
    let cov = d.join("cov.json");
    let o = hunt_with_coverage(&rule, &logs, &cov);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for name in [
        "fake.evtx",
        "binary.bin",
        "empty.json",
        "header-only.evtx",
        "dangling.json",
    ] {
        assert!(err.contains(name), "{name} not reported:\n{err}");
    }
    assert!(err.contains("good.jsonl: line 2: malformed JSON"), "{err}");
    let dets = jsonl(&stdout(&o));
    assert_eq!(dets.len(), 2, "both good events fire");
    // Where each is (its line), and the event's own record id.
    assert_eq!(dets[0]["record"], 1);
    assert_eq!(dets[1]["record"], 3);
    assert_eq!(dets[0]["record_id"], dets[0]["event"]["EventRecordID"]);
    assert_eq!(dets[0]["matched"]["CommandLine"], "run evil.exe");
    let c: serde_json::Value = read_json(&cov);
    let good = c["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with("good.jsonl"))
        .unwrap();
    assert_eq!(good["events"], 2);
    assert_eq!(good["problems"], 1);
    if shared().is_some() {
        let t = c["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["path"].as_str().unwrap().ends_with("truncated.evtx"))
            .unwrap();
        assert!(t["events"].as_u64().unwrap() > 100, "{t}");
    }
    assert!(err.contains("Inputs skipped: 5"), "{err}");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

fn detections(rule: &Path, input: &Path) -> Vec<String> {
    let o = dwell(&["hunt", "--rules", p(rule), p(input), "--format", "jsonl"]);
    jsonl(&stdout(&o))
        .iter()
        .map(|d| format!("{} {}", d["timestamp"], d["rule_id"]))
        .collect()
}

#[test]
fn json_shapes_and_compression_are_recognised_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rule = write_rule(d, "rule.yml", EVIL_RULE);
    let a = event("evil one", "2024-01-01T00:00:00Z");
    let b = event("evil two", "2024-01-01T00:00:01Z");
    let lines = format!("{a}\n{b}\n");
    let pretty = |s: &str| {
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(s).unwrap())
            .unwrap()
    };
    let shapes = [
        ("lines.jsonl", lines.clone().into_bytes()),
        ("array.json", format!("[\n{a},\n{b}\n]\n").into_bytes()),
        (
            "pretty.json",
            format!("{}\n{}\n", pretty(&a), pretty(&b)).into_bytes(),
        ),
        ("lines.jsonl.gz", gzip(lines.as_bytes())),
        ("lines.zst", zstd(lines.as_bytes())),
        // The extension lies: content decides.
        ("misnamed.evtx", lines.clone().into_bytes()),
    ];
    let mut results = Vec::new();
    for (name, bytes) in shapes {
        let path = d.join(name);
        std::fs::write(&path, bytes).unwrap();
        results.push((name, detections(&rule, &path)));
    }
    for (name, r) in &results {
        assert_eq!(r.len(), 2, "{name}");
        assert_eq!(r, &results[0].1, "{name}");
    }
    if let Some(shared) = shared() {
        let rules = shared.join("data/sigma/rules");
        let src = shared.join("data/evtx/attack-samples/Execution");
        let evtx = std::fs::read_dir(&src)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "evtx"))
            .max_by_key(|p| std::fs::metadata(p).unwrap().len())
            .unwrap();
        let bytes = std::fs::read(&evtx).unwrap();
        let plain = detections(&rules, &evtx);
        assert!(!plain.is_empty());
        for (name, data) in [("x.evtx.gz", gzip(&bytes)), ("x.evtx.zst", zstd(&bytes))] {
            let path = d.join(name);
            std::fs::write(&path, data).unwrap();
            assert_eq!(detections(&rules, &path), plain, "{name}");
        }
    }
}

#[test]
fn could_not_run_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rule = write_rule(d, "rule.yml", EVIL_RULE);
    std::fs::write(d.join("a.jsonl"), jsonl_text()).unwrap();
    let cases: Vec<Vec<&str>> = vec![
        // Without --rules the built-in rules run; with a filter that leaves none, nothing can.
        vec![
            "hunt",
            "--min-level",
            "critical",
            "--status",
            "stable",
            p(d),
        ],
        vec!["hunt", "--rules", p(&rule), "--min-level", "severe", p(d)],
        vec!["hunt", "--rules", p(&rule), "--status", "bogus", p(d)],
        vec![
            "hunt",
            "--rules",
            p(&rule),
            "-o",
            "/nonexistent/dir/out",
            p(d),
        ],
        vec!["hunt", "--rules", "/nonexistent/rules", p(d)],
        vec!["hunt", "--rules", p(&rule), "/nonexistent/logs"],
        vec!["hunt", "--rules", p(&rule), "--threads", "0", p(d)],
        vec!["hunt", "--rules", p(&rule), "--format", "xml", p(d)],
    ];
    for args in cases {
        let o = dwell(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty());
    }
    let o = dwell(&[
        "hunt",
        "--rules",
        p(&rule),
        p(&d.join("a.jsonl")),
        "--format",
        "jsonl",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a malformed line makes the run partial"
    );
}

/// A run that is refused leaves the previous results where they were; a run that completes
/// replaces them, even with nothing; a destination that cannot be written is refused before
/// any work.
#[test]
fn refused_runs_keep_the_previous_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rule = write_rule(d, "rule.yml", EVIL_RULE);
    let broken = write_rule(d, "broken.yml", "title: [unclosed\n");
    let log = d.join("e.jsonl");
    std::fs::write(&log, event("run evil.exe", "2024-01-01T00:00:00Z") + "\n").unwrap();
    let quiet = d.join("quiet.jsonl");
    std::fs::write(&quiet, event("nothing here", "2024-01-01T00:00:00Z") + "\n").unwrap();
    let out = d.join("out.jsonl");
    let previous = "{\"previous\":\"results\"}\n";
    std::fs::write(&out, previous).unwrap();
    let hunt = |rules: &Path, input: &Path, extra: &[&str]| {
        let mut args = vec!["hunt", "--rules", p(rules), p(input), "-o", p(&out)];
        args.extend_from_slice(extra);
        dwell(&args)
    };

    let o = hunt(&broken, &log, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), previous);

    let o = hunt(
        &rule,
        &log,
        &["--coverage", "/nonexistent-dwell-dir/cov.json"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("/nonexistent-dwell-dir/cov.json"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), previous);

    let o = hunt(&rule, &log, &["--sort-memory", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), previous);

    let o = hunt(&rule, &quiet, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "",
        "no detections: emptied"
    );

    let o = hunt(&rule, &log, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dets = jsonl(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(dets.len(), 1);
    assert_eq!(dets[0]["matched"]["CommandLine"], "run evil.exe");

    // A device is written, not replaced or truncated.
    let o = dwell(&["hunt", "--rules", p(&rule), p(&log), "-o", "/dev/null"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

#[test]
fn many_warnings_are_folded_by_kind_and_logged_in_full() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rule = write_rule(d, "rule.yml", EVIL_RULE);
    let logs = d.join("logs");
    std::fs::create_dir(&logs).unwrap();
    // Forty inputs, each with two malformed lines: eighty warnings of one kind.
    for k in 0..40 {
        std::fs::write(
            logs.join(format!("part{k:02}.jsonl")),
            format!(
                "{}\n{{\"broken\n{}\n{{\"also broken\n",
                event("run evil.exe", "2024-01-01T00:00:00Z"),
                event("quiet", "2024-01-01T00:00:01Z")
            ),
        )
        .unwrap();
    }
    let log = d.join("all.log");
    let o = dwell(&[
        "hunt",
        "--rules",
        p(&rule),
        "--format",
        "jsonl",
        "--log",
        p(&log),
        p(&logs),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let shown = err
        .lines()
        .filter(|l| {
            l.starts_with("warning: ") && l.contains(": line ") && l.contains("malformed JSON")
        })
        .count();
    assert_eq!(shown as u64, 3, "three of a kind shown:\n{err}");
    assert!(err.contains("77 more message(s) not shown (77 × malformed JSON: unterminated string); --log has them all"), "{err}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        logged
            .lines()
            .filter(|l| l.contains("malformed JSON"))
            .count(),
        80
    );
    assert_eq!(jsonl(&stdout(&o)).len(), 40, "every good event still fires");
    // Quiet: none shown, the count at the end, the summary still there.
    let o = dwell(&[
        "hunt",
        "--rules",
        p(&rule),
        "--format",
        "jsonl",
        "--quiet",
        p(&logs),
    ]);
    let err = stderr(&o);
    assert!(
        !err.lines()
            .any(|l| l.contains("malformed JSON") && !l.contains("not shown")),
        "{err}"
    );
    assert!(err.contains("80 more message(s) not shown"), "{err}");
    assert!(err.contains("Summary: "), "{err}");
}
