//! Helpers shared by the command-line tests (each test file uses some of them).
#![allow(dead_code, unused_imports)]

pub use dwell_testdata::shared;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn dwell(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dwell"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("dwell runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Parses JSON lines.
pub fn jsonl(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A small rule, written to `dir/name`.
pub fn write_rule(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A rule on Sysmon process creation that fires on `evil` in the command line.
pub const EVIL_RULE: &str = "title: Evil command line
id: 0e2b5a5c-9d41-4c8e-9a3e-3d0b7c1f0001
status: test
level: high
logsource: {product: windows, category: process_creation}
detection:
  sel:
    CommandLine|contains: 'evil'
  condition: sel
";

/// Reads a JSON document (a coverage or summary file).
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `dwell hunt --rules rules input --format jsonl --coverage cov`.
pub fn hunt_with_coverage(rules: &Path, input: &Path, cov: &Path) -> Output {
    dwell(&[
        "hunt",
        "--rules",
        p(rules),
        p(input),
        "--format",
        "jsonl",
        "--coverage",
        p(cov),
    ])
}
