//! Nothing a log, a file name or a rule says can act on the analyst's terminal: clear the
//! screen, retitle the window, write the clipboard, or overwrite what dwell printed.

mod common;
use common::*;

/// Characters a terminal may act on: C0 controls but newline (which ends dwell's own lines),
/// DEL, C1 controls, and the bidirectional overrides.
fn acting(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

const HOSTILE: &str = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}P1$r\u{1b}\\\u{9b}2J\rno detections\u{8}\u{202e}";

#[test]
fn log_values_file_names_and_rule_text_are_shown_not_executed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let json_hostile = serde_json::to_string(HOSTILE).unwrap();
    let rule = write_rule(
        d,
        "rule.yml",
        &format!(
            "title: {json_hostile}\nid: 0e2b5a5c-9d41-4c8e-9a3e-3d0b7c1f0009\nlogsource: {{product: windows, category: process_creation}}\ndetection: {{sel: {{CommandLine|contains: evil}}, condition: sel}}\n"
        ),
    );
    let logs = d.join("logs");
    std::fs::create_dir(&logs).unwrap();
    let event = serde_json::json!({
        "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
        "Computer": HOSTILE, "CommandLine": format!("evil {HOSTILE}"),
        "UtcTime": "2024-01-01 00:00:00",
    });
    std::fs::write(logs.join("a.jsonl"), format!("{event}\n{{\"bro\n")).unwrap();
    // A file whose very name is an escape sequence, and which is not a log.
    std::fs::write(logs.join("\u{1b}[2Jnot-a-log.txt"), "hello\n").unwrap();
    for format in ["table", "csv", "jsonl", "ocsf", "timesketch"] {
        let o = dwell(&["hunt", "--rules", p(&rule), p(&logs), "--format", format]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(
            acting(&err).is_empty(),
            "stderr ({format}): {:?}",
            acting(&err)
        );
        assert!(err.contains("\\e[2Jnot-a-log.txt"), "{err}");
        if format != "csv" {
            // CSV carries values as they are (a data format, for spreadsheets); the others
            // escape them (JSON escapes C0 and C1 controls; the table shows them as text).
            let out = stdout(&o);
            assert!(
                acting(&out).is_empty(),
                "stdout ({format}): {:?}",
                acting(&out)
            );
            assert!(out.contains("evil"), "{format}: {out}");
        }
    }
    let o = dwell(&[
        "investigate",
        "--rules",
        p(&rule),
        p(&logs),
        "--format",
        "table",
    ]);
    assert!(acting(&stdout(&o)).is_empty(), "{:?}", stdout(&o));
    assert!(acting(&stderr(&o)).is_empty());
    let o = dwell(&["rules", "check", p(&rule), p(&logs)]);
    assert!(acting(&stdout(&o)).is_empty(), "{:?}", stdout(&o));
}
