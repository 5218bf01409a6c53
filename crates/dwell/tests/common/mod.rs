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

/// Debian's Chromium, or the browser named by `DWELL_CHROMIUM`; `None` (with a note) when
/// there is none outside CI.
pub fn chromium() -> Option<PathBuf> {
    let candidates = std::env::var_os("DWELL_CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            [
                "/usr/bin/chromium",
                "/usr/bin/chromium-browser",
                "/usr/bin/google-chrome",
            ]
            .map(PathBuf::from),
        );
    for c in candidates {
        if c.is_file() {
            return Some(c);
        }
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("no Chromium under CI: .ci/run installs Debian's chromium package");
    }
    eprintln!(
        "SKIPPED: no Chromium found (install Debian's chromium package or set DWELL_CHROMIUM)"
    );
    None
}

/// Loads a page in headless Chromium and returns the DOM after its scripts ran, and the
/// browser's log (console messages and refused requests are in it).
pub fn browse(
    browser: &Path,
    page: &Path,
    query: &str,
    screenshot: Option<&Path>,
) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}{query}", page.display());
    let mut cmd = std::process::Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=20000",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()));
    match screenshot {
        Some(p) => cmd.args([
            "--window-size=1400,4600".to_string(),
            format!("--screenshot={}", p.display()),
        ]),
        None => cmd.arg("--dump-dom"),
    };
    let out = cmd.arg(url).output().expect("chromium runs");
    assert!(out.status.success(), "chromium failed: {}", stderr(&out));
    (stdout(&out), stderr(&out))
}
