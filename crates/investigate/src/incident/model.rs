//! What an investigation reports: the document `dwell investigate --format json` prints
//! (docs/investigate.md), the case file stores and the HTML report draws.

use serde::{Serialize, Serializer};

/// Nanosecond times are written as RFC 3339 text.
fn rfc3339<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&dwell_core::time::format(*t))
}

/// A place in the inputs: which file and record.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
    /// How it belongs to its incident: `signal`, `precursor` (led to an account's first
    /// abuse) or `context` (a low-level or routine detection of a compromised account).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub role: String,
    /// Why it belongs, in words.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub why: String,
    /// `high`, `medium` or `low`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub confidence: String,
    /// Index of the detection in the order it was added (the case file's detection id).
    #[serde(skip)]
    pub index: usize,
    /// The rule's tags (ATT&CK tactics and techniques), for the timeline; not in the JSON
    /// document, whose incidents name their tactics.
    #[serde(skip)]
    pub tags: Vec<String>,
}

/// An account, host or address a campaign compromised.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Compromised {
    /// `account`, `host` or `address`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// The first event of the campaign that names it: its first abuse.
    #[serde(serialize_with = "rfc3339")]
    pub first_abuse: i64,
    /// From when the evidence shows it in the intruder's hands...
    #[serde(serialize_with = "rfc3339")]
    pub since: i64,
    /// ...by what (why it is in).
    pub how: String,
    /// The detection that showed it.
    pub evidence: RecordRef,
    /// `high` or `medium`.
    pub confidence: String,
    /// When it was back in its owner's hands, and how; later activity is its owner's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediated: Option<Remediated>,
}

/// Evidence of remediation.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Remediated {
    /// When.
    #[serde(serialize_with = "rfc3339")]
    pub time: i64,
    /// What happened.
    pub how: String,
    /// The input.
    pub source: String,
    /// The record or line.
    pub record: u64,
}

/// One stage of a campaign's storyline: a burst of activity between quiet spells.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stage {
    /// 1-based.
    pub stage: u32,
    /// Its first event.
    #[serde(serialize_with = "rfc3339")]
    pub first: i64,
    /// Its last.
    #[serde(serialize_with = "rfc3339")]
    pub last: i64,
    /// Hosts it touched.
    pub hosts: Vec<String>,
    /// Accounts it used.
    pub accounts: Vec<String>,
    /// Its ATT&CK tactics, in order.
    pub tactics: Vec<String>,
    /// Its detections.
    pub detections: usize,
    /// What happened: its rules, gravest first (at most three).
    pub headline: Vec<String>,
}

/// Detections of one rule set aside as background or as not part of any campaign.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SetAside {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's title.
    pub rule_title: String,
    /// The rule's level.
    pub level: String,
    /// `routine`, `widespread`, `sanctioned` or `unattached`.
    pub reason: String,
    /// Its detections set aside.
    pub detections: usize,
    /// Why, in words.
    pub why: String,
    /// One of them.
    pub example: RecordRef,
}

/// An approved change that covered detections.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sanctioned {
    /// The ticket.
    pub ticket: String,
    /// What it was for.
    pub summary: String,
    /// The host it covers.
    pub host: Option<String>,
    /// Who carries it out.
    pub account: Option<String>,
    /// Planned start.
    #[serde(serialize_with = "rfc3339")]
    pub start: i64,
    /// Planned end.
    #[serde(serialize_with = "rfc3339")]
    pub end: i64,
    /// The detections it covered.
    pub detections: Vec<DetectionRef>,
    /// The change record.
    pub source: String,
    /// Its record or line.
    pub record: u64,
}

/// An account or host detections named that no campaign holds, and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LeftOut {
    /// `account` or `host`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Detections naming it.
    pub detections: usize,
    /// Why it is out.
    pub why: String,
}

use crate::identity::Alias;

/// A host or account and when the incident touched it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TacticSeen {
    /// The ATT&CK tactic (`credential-access`).
    pub tactic: String,
    /// When it first appeared.
    #[serde(serialize_with = "rfc3339")]
    pub first: i64,
}

/// A lateral movement inside an incident.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PatientZero {
    /// The host of the first detection.
    pub host: Option<String>,
    /// The first account named.
    pub account: Option<String>,
}

/// One incident: a campaign, or a lead (signal that shows no intrusion by itself).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Incident {
    /// 1-based: campaigns gravest first, then leads gravest first.
    pub id: u32,
    /// A campaign (an intrusion), or a lead.
    pub campaign: bool,
    /// `informational` to `critical`.
    pub severity: String,
    /// The first malicious event.
    pub first: DetectionRef,
    /// The last.
    pub last: DetectionRef,
    /// Seconds from first to last.
    pub dwell_seconds: i64,
    /// The first destructive or encryption event (ATT&CK T1485, T1486, T1561).
    pub impact: Option<DetectionRef>,
    /// Seconds from the first malicious event to impact.
    pub dwell_to_impact_seconds: Option<i64>,
    /// What the campaign compromised, with when and how each was first abused.
    pub compromised: Vec<Compromised>,
    /// The storyline.
    pub stages: Vec<Stage>,
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
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
    /// How many of the incidents are campaigns.
    pub campaigns: usize,
    /// The incidents: campaigns gravest first, then leads.
    pub incidents: Vec<Incident>,
    /// Detections left out of every incident, by rule, with why.
    pub set_aside: Vec<SetAside>,
    /// Approved changes that covered detections.
    pub sanctioned: Vec<Sanctioned>,
    /// Names resolved to other accounts.
    pub identities: Vec<Alias>,
    /// Accounts and hosts detections named that no campaign holds.
    pub left_out: Vec<LeftOut>,
}
