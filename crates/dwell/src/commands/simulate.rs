//! `dwell simulate`: the estate written to a folder, and a few lines on what is in it.

use crate::cli::SimulateArgs;
use crate::{Fail, Outcome};
use dwell_simulate::{Config, Truth, simulate};
use std::path::Path;

/// `2025-03-01` (midnight UTC) or an RFC 3339 time, in milliseconds.
pub fn parse_until(s: &str) -> Result<i64, Fail> {
    let ts = if s.len() == 10 {
        format!("{s}T00:00:00Z").parse::<jiff::Timestamp>()
    } else {
        s.parse::<jiff::Timestamp>()
    };
    ts.map(|t| t.as_millisecond()).map_err(|e| {
        Fail(format!(
            "--until '{s}' is not a date (2025-03-01) or a time with an offset (2025-03-01T12:00:00Z): {e}"
        ))
    })
}

/// Writes the estate into `out`, which must not hold anything yet.
pub fn write(out: &Path, cfg: &Config) -> Result<Truth, Fail> {
    if let Ok(mut entries) = std::fs::read_dir(out)
        && entries.next().is_some()
    {
        return Err(Fail(format!(
            "{} is not empty; simulate writes into a new or empty folder",
            out.display()
        )));
    }
    Ok(simulate(cfg, out)?)
}

pub fn run(args: SimulateArgs) -> Result<Outcome, Fail> {
    let cfg = Config {
        seed: args.seed,
        scale: args.scale,
        until: args.until.as_deref().map(parse_until).transpose()?,
    };
    let truth = write(&args.out, &cfg)?;
    let files = truth.json["files"].as_object().map_or(0, |f| f.len());
    let lines: u64 = truth.json["files"]
        .as_object()
        .map_or(0, |f| f.values().filter_map(|v| v.as_u64()).sum());
    eprintln!(
        "wrote {files} log files ({lines} records) and the ground truth to {}",
        args.out.join("truth.json").display()
    );
    eprintln!(
        "the intrusion: {} malicious records, {} look-alikes; first malicious event {}; impact {}",
        truth.malicious.len(),
        truth.decoys.len(),
        truth.json["first_malicious"]["time"]
            .as_str()
            .unwrap_or("(none written)"),
        truth.json["impact"].as_str().unwrap_or("(not reached)")
    );
    Ok(Outcome::Complete)
}
