//! `dwell simulate`: a retailer's estate written in each source's real format (Okta, ServiceNow,
//! Windows with Sysmon, PostgreSQL with pgaudit, Linux and ESXi syslog, a Squid proxy, the web
//! shop's nginx), with background noise, the look-alikes every company has and an intrusion
//! that unfolds over weeks. The same seed writes the same bytes; the ground truth (`truth.json`)
//! is computed from the records as written (their places, times and text, and the tag each
//! attack record was written with), never restated from the story.

mod format;
mod rng;
mod story;
mod truth;
mod write;

pub use truth::Truth;

use std::path::Path;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Config {
    /// The seed: the same seed, scale and cut write the same bytes.
    pub seed: u64,
    /// How busy the estate is: staff, customers and daily activity scale with it (1 is a
    /// retailer's head office of 150 staff; 0.1 is enough for a test).
    pub scale: f64,
    /// Nothing after this time (milliseconds since the epoch) is written: a breach caught early.
    pub until: Option<i64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 1,
            scale: 1.0,
            until: None,
        }
    }
}

/// Why a simulation could not be written.
#[derive(Debug)]
pub enum SimError {
    /// The scale is not a positive number up to 100.
    Scale(f64),
    /// A file could not be written.
    Io(String, std::io::Error),
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::Scale(s) => write!(f, "scale {s} is not a number above 0 and at most 100"),
            SimError::Io(p, e) => write!(f, "cannot write {p}: {e}"),
        }
    }
}

impl std::error::Error for SimError {}

/// The story's first day (a Monday), UTC midnight, in milliseconds.
pub const START_MS: i64 = 1_738_540_800_000; // 2025-02-03T00:00:00Z

/// Days the story covers.
pub const DAYS: i64 = 84;

/// Writes the estate under `out` (created if missing) and returns its ground truth, which is
/// also written to `out/truth.json`.
pub fn simulate(cfg: &Config, out: &Path) -> Result<Truth, SimError> {
    if !(cfg.scale > 0.0 && cfg.scale <= 100.0) {
        return Err(SimError::Scale(cfg.scale));
    }
    let mut recs = story::tell(cfg);
    if let Some(until) = cfg.until {
        recs.records.retain(|r| r.t <= until);
    }
    let written = write::write_all(out, recs)?;
    let truth = truth::compute(cfg, &written);
    let path = out.join("truth.json");
    let text = serde_json::to_string_pretty(&truth.json).expect("truth serialises") + "\n";
    std::fs::write(&path, text).map_err(|e| SimError::Io(path.display().to_string(), e))?;
    Ok(truth)
}
