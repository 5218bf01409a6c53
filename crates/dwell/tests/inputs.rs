//! Inputs that lie, hide or arrive strangely: damaged EVTX files whose damage must be said,
//! pipes and FIFOs that must be read exactly once, times no event can have, oversized records.

mod common;
use common::*;
use std::io::Write;
use std::process::{Command, Stdio};

const LOGON: &str = "title: Logon
id: 0e2b5a5c-9d41-4c8e-9a3e-3d0b7c1f0002
logsource: {product: windows, service: security}
detection: {sel: {EventID: 4624}, condition: sel}
";

/// Events read and problems found in the one input of a coverage document.
fn counts(c: &serde_json::Value) -> (u64, u64) {
    let i = &c["inputs"][0];
    (
        i["events"].as_u64().unwrap(),
        i["problems"].as_u64().unwrap(),
    )
}

/// The (first, last) record ids a chunk's header names.
fn chunk_records(evtx: &[u8], chunk: usize) -> (u64, u64) {
    let at = 4096 + chunk * 65536;
    assert_eq!(&evtx[at..at + 8], b"ElfChnk\0");
    let u = |o: usize| u64::from_le_bytes(evtx[at + o..at + o + 8].try_into().unwrap());
    (u(24), u(32))
}

#[test]
fn damaged_evtx_is_reported_counted_and_exits_1() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let rule = write_rule(dir.path(), "r.yml", LOGON);
    let sec = std::fs::read(shared.join("data/evtx/parser-samples/security.evtx")).unwrap();
    let hunt = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let cov = dir.path().join(format!("{name}.json"));
        let o = dwell(&[
            "hunt",
            "--rules",
            p(&rule),
            p(&path),
            "-o",
            "/dev/null",
            "--coverage",
            p(&cov),
        ]);
        (o.status.code(), stderr(&o), counts(&read_json(&cov)))
    };
    let (code, err, (whole_events, whole_problems)) = hunt("whole.evtx", &sec);
    assert_eq!((code, whole_problems), (Some(0), 0), "{err}");
    // Cut inside the second chunk: one whole chunk is read, and the cut is said.
    let (first, last) = chunk_records(&sec, 0);
    for cut in [70_000usize, 100_000, 135_000] {
        let (code, err, (events, problems)) = hunt(&format!("cut{cut}.evtx"), &sec[..cut]);
        assert_eq!(code, Some(1), "{cut}: {err}");
        assert_eq!(
            events,
            last - first + 1,
            "{cut}: the whole chunk is still read"
        );
        assert!(problems >= 1, "{cut}: {err}");
        assert!(err.contains(&format!("cut{cut}.evtx")), "{err}");
        let into = cut - 4096 - 65536;
        assert!(
            err.contains(&format!("truncated: it ends {into} bytes into chunk 1")),
            "{cut}: {err}"
        );
    }
    // A whole chunk zeroed, as an intruder would wipe the one holding their events.
    let (gone_first, gone_last) = chunk_records(&sec, 2);
    let gone = gone_last - gone_first + 1;
    let mut wiped = sec.clone();
    let at = 4096 + 2 * 65536;
    wiped[at..at + 65536].fill(0);
    let (code, err, (events, problems)) = hunt("wiped.evtx", &wiped);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(problems, 1, "{err}");
    assert_eq!(events, whole_events - gone);
    assert!(
        err.contains(&format!(
            "chunk 2 is zeroed: {gone} records between chunk 1 and chunk 3 are missing (records {gone_first} to {gone_last})"
        )),
        "{err}"
    );
    assert!(err.contains("problems inside 1 input: 1"), "{err}");
}

fn jsonl_events(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Computer\":\"h1\",\"CommandLine\":\"run evil.exe {i}\",\"UtcTime\":\"2024-01-01 00:00:{:02}\"}}\n",
                i % 60
            )
        })
        .collect()
}

/// `dwell hunt` with `stdin` on its standard input.
fn hunt_stdin(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dwell"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

#[test]
fn pipes_and_standard_input_are_read_once_and_whole() {
    let dir = tempfile::tempdir().unwrap();
    let rule = write_rule(dir.path(), "r.yml", EVIL_RULE);
    for n in [3usize, 3000] {
        let text = jsonl_events(n);
        for path in ["-", "/dev/stdin"] {
            let o = hunt_stdin(
                &["hunt", "--rules", p(&rule), path, "--format", "jsonl"],
                text.as_bytes(),
            );
            assert_eq!(o.status.code(), Some(0), "{path} {n}: {}", stderr(&o));
            let dets = jsonl(&stdout(&o));
            assert_eq!(dets.len(), n, "{path}: every event of {n}");
            assert_eq!(dets[0]["matched"]["CommandLine"], "run evil.exe 0");
        }
    }
    // EVTX through a pipe: copied aside once, then read like a file.
    if let Some(shared) = shared() {
        let evtx = std::fs::read(shared.join("data/evtx/parser-samples/security.evtx")).unwrap();
        let logon = write_rule(dir.path(), "logon.yml", LOGON);
        let file = dwell(&[
            "hunt",
            "--rules",
            p(&logon),
            p(&shared.join("data/evtx/parser-samples/security.evtx")),
            "--format",
            "jsonl",
        ]);
        let piped = hunt_stdin(
            &["hunt", "--rules", p(&logon), "-", "--format", "jsonl"],
            &evtx,
        );
        assert_eq!(piped.status.code(), Some(0), "{}", stderr(&piped));
        let strip = |s: String| -> Vec<serde_json::Value> {
            jsonl(&s)
                .into_iter()
                .map(|mut d| {
                    d.as_object_mut().unwrap().remove("source");
                    d
                })
                .collect()
        };
        let from_file = strip(stdout(&file));
        assert!(!from_file.is_empty());
        assert_eq!(strip(stdout(&piped)), from_file);
    }
}

#[cfg(unix)]
#[test]
fn fifos_in_folders_are_skipped_and_named_ones_read() {
    let dir = tempfile::tempdir().unwrap();
    let rule = write_rule(dir.path(), "r.yml", EVIL_RULE);
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(logs.join("a.jsonl"), jsonl_events(2)).unwrap();
    let fifo = logs.join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // Nobody writes to the FIFO: reading it would hang the hunt forever.
    let o = dwell(&["hunt", "--rules", p(&rule), p(&logs), "--format", "jsonl"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(jsonl(&stdout(&o)).len(), 2);
    assert!(
        stderr(&o).contains("pipe: a FIFO (named pipe), not a regular file"),
        "{}",
        stderr(&o)
    );
    // Named on the command line, a FIFO is read as the stream it is.
    let text = jsonl_events(5);
    let fifo2 = fifo.clone();
    let writer = std::thread::spawn(move || {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&fifo2)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    });
    let o = dwell(&["hunt", "--rules", p(&rule), p(&fifo), "--format", "jsonl"]);
    writer.join().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(jsonl(&stdout(&o)).len(), 5);
}

#[test]
fn impossible_times_are_reported_not_silently_undated() {
    let dir = tempfile::tempdir().unwrap();
    let rule = write_rule(dir.path(), "r.yml", EVIL_RULE);
    let bad = [
        "\"0001-01-01T00:00:00Z\"",
        "\"9999-12-31T23:59:59Z\"",
        "\"2024-13-45T99:99:99Z\"",
        "\"\"",
        "5",
        "\"1601-01-01T00:00:00.0000000Z\"",
    ];
    let mut text = String::new();
    text.push_str(&jsonl_events(1));
    for v in bad {
        text.push_str(&format!(
            "{{\"Event\":{{\"System\":{{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Computer\":\"h1\",\"TimeCreated\":{{\"#attributes\":{{\"SystemTime\":{v}}}}}}},\"EventData\":{{\"CommandLine\":\"evil\"}}}}}}\n"
        ));
    }
    let log = dir.path().join("times.jsonl");
    std::fs::write(&log, &text).unwrap();
    let cov = dir.path().join("cov.json");
    let o = hunt_with_coverage(&rule, &log, &cov);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    // Every event is still hunted; the ones with impossible times say so.
    let dets = jsonl(&stdout(&o));
    assert_eq!(dets.len(), 1 + bad.len());
    assert_eq!(
        dets.iter().filter(|d| d["timestamp"].is_null()).count(),
        bad.len()
    );
    for (i, v) in bad.iter().enumerate() {
        let shown = v.trim_matches('"');
        assert!(
            err.contains(&format!(
                "times.jsonl: line {}: time field TimeCreated_SystemTime '{shown}'",
                i + 2
            )),
            "{v}: {err}"
        );
    }
    assert_eq!(counts(&read_json(&cov)).1, bad.len() as u64);
}

#[test]
fn an_oversized_record_is_one_problem() {
    let dir = tempfile::tempdir().unwrap();
    let rule = write_rule(dir.path(), "r.yml", EVIL_RULE);
    let mut text = jsonl_events(1);
    text.push_str("{\"CommandLine\":\"");
    text.push_str(&"x".repeat(40 << 20));
    text.push_str("\"}\n");
    text.push_str(&jsonl_events(2));
    let log = dir.path().join("big.jsonl");
    std::fs::write(&log, &text).unwrap();
    let cov = dir.path().join("cov.json");
    let o = hunt_with_coverage(&rule, &log, &cov);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(
        jsonl(&stdout(&o)).len(),
        3,
        "the records around it are read"
    );
    assert_eq!(counts(&read_json(&cov)), (3, 1), "{err}");
    assert!(
        err.contains("big.jsonl: line 2: record larger than"),
        "{err}"
    );
}

/// `--timezone`, `--read-as` and `--squid-logformat`: refused when wrong, before any work, and
/// applied when right.
#[test]
fn timezone_read_as_and_squid_logformat() {
    let dir = tempfile::tempdir().unwrap();
    let rule = write_rule(
        dir.path(),
        "sudo.yml",
        "title: sudo to root\nid: 0e2b5a5c-9d41-4c8e-9a3e-3d0b7c1f0101\nlogsource: {product: linux, service: sudo}\n\
         detection: {sel: {run_as: root}, condition: sel}\n",
    );
    // A banner line, then syslog: by content it is not a log, by --read-as it is.
    let log = dir.path().join("messages");
    std::fs::write(
        &log,
        "*** host db01 rebooted ***\n\
         Apr 10 22:36:00 db01 sudo: opsadmin : TTY=pts/0 ; PWD=/home/opsadmin ; USER=root ; COMMAND=/bin/sh\n",
    )
    .unwrap();
    let bad = |args: &[&str], want: &str| {
        let mut all = vec!["hunt", "--rules", p(&rule)];
        all.extend_from_slice(args);
        all.push(p(&log));
        let o = dwell(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    };
    bad(
        &["--timezone", "Mars/Olympus_Mons"],
        "--timezone 'Mars/Olympus_Mons' is not UTC",
    );
    bad(&["--read-as", "nosuch=/x"], "no format named 'nosuch'");
    bad(&["--read-as", "syslog"], "is not FORMAT=PATH");
    bad(
        &["--squid-logformat", "%zz"],
        "%zz is not a Squid logformat code",
    );
    let plain = dwell(&["hunt", "--rules", p(&rule), "-f", "jsonl", p(&log)]);
    assert!(
        stderr(&plain).contains("not a log dwell reads"),
        "{}",
        stderr(&plain)
    );
    let forced = format!("syslog={}", p(dir.path()));
    let o = dwell(&[
        "hunt",
        "--rules",
        p(&rule),
        "-f",
        "jsonl",
        "--read-as",
        &forced,
        "--timezone",
        "+02:00",
        p(&log),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("line 1: not a syslog line"),
        "{}",
        stderr(&o)
    );
    let d = jsonl(&stdout(&o));
    assert_eq!(d.len(), 1);
    // 22:36 at +02:00 is 20:36 UTC, in the year before or of the file's modification.
    let t = d[0]["timestamp"].as_str().unwrap();
    assert!(t.ends_with("-04-10T20:36:00.000000Z"), "{t}");
}

#[test]
fn parse_only_reads_and_routes_every_event_but_evaluates_no_rule() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let rules = shared.join("data/sigma/rules/linux");
    // A real sample and the attack chain's auth.log, in which SigmaHQ's Linux rules fire.
    let sample = shared.join("data/logs/linux-syslog/syslog_ssh.log");
    let log = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../pipeline/tests/fixtures/sources/auth.log");
    let run = |extra: &[&str], name: &str| {
        let cov = dir.path().join(name);
        let mut args = vec!["hunt", "--rules", p(&rules), "-f", "jsonl"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--coverage", p(&cov), p(&sample), p(&log)]);
        let o = dwell(&args);
        assert!(o.status.code().unwrap_or(9) <= 1, "{}", stderr(&o));
        (o, read_json(&cov))
    };
    let (full, full_cov) = run(&[], "full.json");
    let (parsed, parsed_cov) = run(&["--parse-only"], "parsed.json");
    assert!(
        !jsonl(&stdout(&full)).is_empty(),
        "the full hunt must fire to prove anything"
    );
    assert_eq!(stdout(&parsed), "", "no rule is evaluated");
    assert!(
        stderr(&parsed).contains("Parse only: events read and routed, no rule evaluated"),
        "{}",
        stderr(&parsed)
    );
    // The same events read, and each rule shown the same events of its log source.
    assert_eq!(full_cov["inputs"], parsed_cov["inputs"]);
    let checked = |c: &serde_json::Value| -> Vec<(String, u64, u64)> {
        c["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["path"].as_str().unwrap().to_string(),
                    r["events_checked"].as_u64().unwrap(),
                    r["fired"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let (f, q) = (checked(&full_cov), checked(&parsed_cov));
    assert_eq!(f.len(), q.len());
    assert!(f.iter().any(|r| r.1 > 0));
    for (a, b) in f.iter().zip(&q) {
        assert_eq!((&a.0, a.1), (&b.0, b.1));
        assert_eq!(b.2, 0, "{} fired without being evaluated", b.0);
    }
    let o = dwell(&["hunt", "--parse-only", "--case", "x.db", p(&log)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
}
