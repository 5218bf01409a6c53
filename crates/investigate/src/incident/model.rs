//! What an investigation reports: the document `dwell investigate --format json` prints
//! (docs/investigate.md), the case file stores and the HTML report draws.

use serde::{Serialize, Serializer};

/// Nanosecond times are written as RFC 3339 text.
fn rfc3339<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&dwell_core::time::format(*t))
}

/// A place in the inputs: which file and record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordRef {
    /// The event's time.
    #[serde(serialize_with = "rfc3339")]
    pub time: i64,
    /// The input, as outputs name it.
    pub source: String,
    /// The record or line.
    pub record: u64,
}

/// One detection inside an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectionRef {
    /// Its time.
    #[serde(serialize_with = "rfc3339")]
    pub time: i64,
    /// The rule's id.
    pub rule_id: String,
    /// The rule's title.
    pub rule_title: String,
    /// The rule's level.
    pub level: String,
    /// The host, normalised.
    pub host: String,
    /// The acting account, normalised.
    pub account: Option<String>,
    /// The input.
    pub source: String,
    /// The record or line.
    pub record: u64,
    /// Index of the detection in the order it was added (the case file's detection id).
    #[serde(skip)]
    pub index: usize,
}

/// A host or account and when the incident touched it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Touched {
    /// The host or account.
    pub name: String,
    /// First touched.
    #[serde(serialize_with = "rfc3339")]
    pub first: i64,
    /// Last touched.
    #[serde(serialize_with = "rfc3339")]
    pub last: i64,
    /// Detections on or by it.
    pub detections: usize,
    /// Reached by lateral movement (for hosts): the time it was first reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reached: Option<String>,
}

/// A tactic and when it first appeared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TacticSeen {
    /// The ATT&CK tactic (`credential-access`).
    pub tactic: String,
    /// When it first appeared.
    #[serde(serialize_with = "rfc3339")]
    pub first: i64,
}

/// A lateral movement inside an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edge {
    /// Time of its first trace.
    #[serde(serialize_with = "rfc3339")]
    pub time: i64,
    /// The account that moved.
    pub account: String,
    /// Where from.
    pub from: String,
    /// Where to.
    pub to: String,
    /// The Windows logon type on the target, when known.
    pub logon_type: Option<u32>,
    /// How: trace kinds and remote-execution methods, in the order seen.
    pub methods: Vec<String>,
    /// The session got administrative privileges.
    pub admin: bool,
    /// The records it was assembled from.
    pub evidence: Vec<EvidenceRef>,
}

/// A record behind an edge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceRef {
    /// What kind of trace (`logon`, `privileged`, `psexec`...).
    pub kind: String,
    /// Its time.
    #[serde(serialize_with = "rfc3339")]
    pub time: i64,
    /// The input.
    pub source: String,
    /// The record or line.
    pub record: u64,
}

/// Why two groups of detections were joined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// `host`, `account`, `ip`, `process`, `logon_id`, or `movement`.
    pub via: String,
    /// The shared entity, or `account from -> to` for a movement.
    pub entity: String,
    /// The earlier detection.
    pub from: RecordRef,
    /// The later detection.
    pub to: RecordRef,
}

/// A rule that fired in an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleCount {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's title.
    pub rule_title: String,
    /// The rule's level.
    pub level: String,
    /// Its detections in the incident.
    pub count: usize,
}

/// Where the intrusion was first seen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatientZero {
    /// The host of the first detection.
    pub host: Option<String>,
    /// The first account named.
    pub account: Option<String>,
}

/// One incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// 1-based, in order of first malicious event.
    pub id: u32,
    /// `informational` to `critical`.
    pub severity: String,
    /// The first malicious event.
    pub first: DetectionRef,
    /// The last.
    pub last: DetectionRef,
    /// Seconds from first to last.
    pub dwell_seconds: i64,
    /// Where it started.
    pub patient_zero: PatientZero,
    /// Hosts touched, in order of first appearance.
    pub hosts: Vec<Touched>,
    /// Accounts touched, in order of first appearance.
    pub accounts: Vec<Touched>,
    /// ATT&CK tactics in order of appearance.
    pub tactics: Vec<TacticSeen>,
    /// Lateral movements.
    pub movements: Vec<Edge>,
    /// Rules that fired, most detections first.
    pub rules: Vec<RuleCount>,
    /// Every detection, in time order.
    pub detections: Vec<DetectionRef>,
    /// Why its detections belong together.
    pub links: Vec<Link>,
}

/// Everything an investigation found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Version of this document's shape.
    pub version: u32,
    /// The linking gap, in seconds.
    pub gap_seconds: i64,
    /// Detections considered.
    pub detections: usize,
    /// Detections without a time, which cannot be placed in an incident.
    pub undated_detections: usize,
    /// Lateral movements seen in the logs, in incidents or not.
    pub movements_seen: usize,
    /// The incidents, in order of first malicious event.
    pub incidents: Vec<Incident>,
}
