//! What a run saw and did, for the summary, the coverage document and exit codes.

use dwell_ingest::InputInfo;
use std::collections::BTreeMap;

/// What happened to one input.
#[derive(Debug, Clone, Default)]
pub struct InputStats {
    /// Events decoded.
    pub events: u64,
    /// Events outside the run's window (`--from`/`--to`; undated ones too): not evaluated.
    pub outside: u64,
    /// Earliest and latest event time.
    pub first: Option<i64>,
    /// The latest event time.
    pub last: Option<i64>,
    /// Events per stream (channel), `(none)` for events without one.
    pub streams: BTreeMap<String, u64>,
    /// Problems inside it (damaged records, malformed lines, unusable times).
    pub problems: u64,
    /// The first problems, each `place: reason`.
    pub samples: Vec<String>,
    /// Why it was not read at all, if it was not.
    pub failed: Option<String>,
}

/// What reached the sinks.
#[derive(Debug, Clone, Default)]
pub struct DetectionStats {
    /// Detections per level, informational..critical, then rules without a level.
    pub by_level: [u64; 6],
    /// Distinct rules that fired.
    pub rules: usize,
    /// Distinct hosts with a detection.
    pub hosts: usize,
    /// The first detection time.
    pub first: Option<i64>,
    /// The last detection time.
    pub last: Option<i64>,
}

impl DetectionStats {
    /// All detections.
    pub fn total(&self) -> u64 {
        self.by_level.iter().sum()
    }
}

/// Everything a run counted.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    /// The input table as it ended (formats known).
    pub inputs: Vec<InputInfo>,
    /// Per input, by index.
    pub per_input: Vec<InputStats>,
    /// Per rule table entry: how many times it fired (detection rules count every hit,
    /// including those only feeding correlations).
    pub fired: Vec<u64>,
    /// Per detection rule: events of its log source it was checked against.
    pub checked: Vec<u64>,
    /// What reached the sinks.
    pub detections: DetectionStats,
    /// Detections dropped as duplicates (`dedup`).
    pub duplicates_dropped: u64,
    /// Correlation matches that arrived after their window.
    pub late_correlation: u64,
    /// Matches of rules with dwell's extension that were not reported (learning, seen before,
    /// outside their hours).
    pub novelty: dwell_detect::NoveltyStats,
    /// Detections the ordering received after later ones had left.
    pub late_ordering: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Events decoded.
    pub events: u64,
    /// Worker threads.
    pub threads: usize,
    /// No rule was evaluated (`Options::parse_only`).
    pub parse_only: bool,
    /// Sinks whose output closed early.
    pub closed_sinks: usize,
}

impl RunStats {
    /// Problems inside inputs, in all.
    pub fn problems(&self) -> u64 {
        self.per_input.iter().map(|i| i.problems).sum()
    }

    /// Inputs that could not be read at all.
    pub fn failed(&self) -> usize {
        self.per_input.iter().filter(|i| i.failed.is_some()).count()
    }
}
