//! A detection: one rule matching one event, with what an analyst needs to act on it.

use serde::{Deserialize, Serialize};

/// One rule firing on one event. Rule and input are indexes into the run's tables, which
/// keeps detections small enough to sort millions of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Event time, nanoseconds since the Unix epoch (UTC).
    #[serde(rename = "t")]
    pub timestamp: Option<i64>,
    #[serde(rename = "r")]
    pub rule: u32,
    #[serde(rename = "i")]
    pub input: u32,
    /// EVTX record number, or line number for JSON inputs.
    #[serde(rename = "n")]
    pub record: u64,
    #[serde(rename = "h")]
    pub computer: String,
    #[serde(rename = "c")]
    pub channel: String,
    #[serde(rename = "e")]
    pub event_id: Option<u32>,
    #[serde(rename = "p")]
    pub provider: String,
    /// The fields and values that made the rule match.
    #[serde(rename = "m")]
    pub matched: Vec<(String, String)>,
    /// The event's fields as a JSON object.
    #[serde(rename = "v")]
    pub event: String,
    /// Identity of the underlying event, for `--dedup`: equal for the same record seen in
    /// two files (a live log and its backup).
    #[serde(rename = "k")]
    pub event_key: u64,
    /// Event fields kept for the correlation rules that use this detection's rule.
    #[serde(rename = "f", default, skip_serializing_if = "Vec::is_empty")]
    pub captured: Vec<(String, Option<String>)>,
    /// Set when this detection is a correlation rule firing.
    #[serde(rename = "x", default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<CorrelationDetail>,
}

/// What a correlation firing is made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationDetail {
    /// The window `(start, end]`, nanoseconds since the Unix epoch.
    pub start: i64,
    pub end: i64,
    /// Group-by names and values.
    pub group: Vec<(String, Option<String>)>,
    /// The value the condition tested.
    pub value: f64,
    pub members: Vec<MemberRef>,
    /// Matches in the window beyond those listed.
    pub more_members: usize,
}

/// One detection (or correlation firing) inside a correlation firing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRef {
    /// Index into the run's rule table (detection rules, then correlations).
    pub rule: u32,
    pub time: i64,
    pub input: u32,
    pub record: u64,
}

/// See [`Detection::sort_key`].
pub type SortKey = (bool, i64, u32, u64, u32);

impl Detection {
    /// The total order detections are written in: by time (events without a time last), then
    /// input, record and rule, so output is identical from run to run.
    pub fn sort_key(&self) -> SortKey {
        (
            self.timestamp.is_none(),
            self.timestamp.unwrap_or(0),
            self.input,
            self.record,
            self.rule,
        )
    }

    /// Approximate heap footprint, for the sort's memory budget.
    pub fn footprint(&self) -> usize {
        std::mem::size_of::<Detection>()
            + self.computer.len()
            + self.channel.len()
            + self.provider.len()
            + self.event.len()
            + self
                .matched
                .iter()
                .map(|(a, b)| a.len() + b.len() + 48)
                .sum::<usize>()
            + self
                .captured
                .iter()
                .map(|(a, b)| a.len() + b.as_ref().map_or(0, String::len) + 56)
                .sum::<usize>()
    }
}
