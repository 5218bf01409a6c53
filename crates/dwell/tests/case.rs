//! The case file under pressure: two runs naming one case file, and case files from elsewhere
//! that lie about what they hold.

mod common;
use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn rule(dir: &Path, title: &str, word: &str) -> PathBuf {
    write_rule(
        dir,
        &format!("{word}.yml"),
        &format!(
            "title: {title}\nid: 55555555-0000-0000-0000-{:012}\nlevel: high\nlogsource: {{product: windows, category: process_creation}}\ndetection: {{sel: {{CommandLine|contains: {word}}}, condition: sel}}\n",
            word.len()
        ),
    )
}

fn events(word: &str) -> String {
    (0..3)
        .map(|i| {
            format!(
                "{{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Computer\":\"h{i}\",\"User\":\"CORP\\\\u\",\"CommandLine\":\"{word} {i}\",\"UtcTime\":\"2024-01-01 00:00:0{i}\"}}\n"
            )
        })
        .collect()
}

#[cfg(unix)]
#[test]
fn a_second_run_on_the_same_case_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ra, rb) = (
        rule(d, "First run", "alpha"),
        rule(d, "Second run", "bravo"),
    );
    let case = d.join("case.dwell");
    let fifo = d.join("slow.jsonl");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // Run A holds the case file while it waits for its input.
    let a = Command::new(env!("CARGO_BIN_EXE_dwell"))
        .args([
            "investigate",
            "--rules",
            p(&ra),
            p(&fifo),
            "--case",
            p(&case),
            "--format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Opening the FIFO for writing returns once A has opened it, which it does after taking
    // the case file's lock.
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    let logs = d.join("b.jsonl");
    std::fs::write(&logs, events("bravo")).unwrap();
    let b = dwell(&[
        "investigate",
        "--rules",
        p(&rb),
        p(&logs),
        "--case",
        p(&case),
        "--format",
        "json",
    ]);
    assert_eq!(b.status.code(), Some(2), "{}", stderr(&b));
    assert!(
        stderr(&b).contains("being written by another dwell run"),
        "{}",
        stderr(&b)
    );
    w.write_all(events("alpha").as_bytes()).unwrap();
    drop(w);
    let a = a.wait_with_output().unwrap();
    assert_eq!(
        a.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );
    // The run that exited 0 finds its own results in the case file.
    let o = dwell(&["report", p(&case), "--format", "json"]);
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let titles: Vec<&str> = r["incidents"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["rule_title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["First run"]);
    // Nothing half-written is left beside it; the lock file stays (it holds nothing).
    let mut left: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("case.dwell"))
        .collect();
    left.sort();
    assert_eq!(left, ["case.dwell", "case.dwell.lock"]);
    // Once the first run is done, the case file can be written again.
    let again = dwell(&[
        "investigate",
        "--rules",
        p(&rb),
        p(&logs),
        "--case",
        p(&case),
        "--format",
        "json",
    ]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
}

/// A real case file, to spoil.
fn case_file(dir: &Path) -> PathBuf {
    let r = rule(dir, "Evil", "evil");
    let logs = dir.join("e.jsonl");
    std::fs::write(&logs, events("evil")).unwrap();
    let case = dir.join("case.dwell");
    let o = dwell(&[
        "investigate",
        "--rules",
        p(&r),
        p(&logs),
        "--case",
        p(&case),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    case
}

fn spoil(case: &Path, name: &str, sql: &str) -> PathBuf {
    let copy = case.with_file_name(name);
    std::fs::copy(case, &copy).unwrap();
    let conn = rusqlite::Connection::open(&copy).unwrap();
    conn.execute_batch(&format!("PRAGMA foreign_keys = OFF; {sql}"))
        .unwrap();
    copy
}

#[test]
fn hostile_case_files_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let case = case_file(dir.path());
    let o = dwell(&["report", p(&case), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let cases = [
        (
            "many.dwell",
            "WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < 300001)
             INSERT INTO incidents SELECT i, 'high', first_detection, last_detection, first_time,
             last_time, 0, NULL, NULL, 1, 1, NULL, NULL FROM n, (SELECT * FROM incidents LIMIT 1);",
            "lists 300001 incidents; dwell reads at most 100000",
        ),
        (
            "huge.dwell",
            "UPDATE incident_hosts SET host = printf('%.*c', 2000000, 'x');",
            "string or blob too big",
        ),
        (
            "severity.dwell",
            "UPDATE incidents SET severity = 'apocalyptic';",
            "severity 'apocalyptic'",
        ),
        (
            "negative.dwell",
            "UPDATE incidents SET id = -4; UPDATE detections SET incident = -4;",
            "incident id -4",
        ),
        (
            "version.dwell",
            "UPDATE meta SET value = 'two' WHERE key = 'schema_version';",
            "schema version 'two'",
        ),
        (
            "time.dwell",
            "UPDATE incident_hosts SET first = 'yesterday';",
            "'yesterday' is not a time",
        ),
        (
            "stranger.dwell",
            "UPDATE incidents SET first_detection = 999;",
            "names detection 999",
        ),
    ];
    for (name, sql, why) in cases {
        let bad = spoil(&case, name, sql);
        let o = dwell(&["report", p(&bad), "--format", "json"]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(why), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(name), "{name}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{name}");
    }
}
