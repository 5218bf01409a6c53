//! Turns detections into campaigns: how an account moved between hosts ([`Logon`]s and
//! [`Movement`]s), which names are one account ([`Identities`]), which host held an address
//! ([`Addresses`]), what was remediated or sanctioned ([`Trace`]s), all read from events by the
//! [`LogonReader`] observer; then which detections are routine, which belong together, and
//! what each campaign compromised ([`Incident`]s).
//!
//! The crate works on plain data handed to it (findings with their entities, logon records),
//! so it has no opinion on where events come from.
//!
//! ```
//! use dwell_core::{Entity, EntityKind};
//! use dwell_investigate::{Finding, Investigation, Options};
//!
//! let rule = dwell_detect::RuleInfo::of_rule(&{
//!     let text = "title: Dump\nid: r1\nlevel: high\nlogsource: {product: windows}\n\
//!                 detection: {s: {x: 1}, condition: s}\n";
//!     let (docs, _) = dwell_sigma::parse_text(text, "r.yml", &Default::default());
//!     dwell_sigma::RuleSet::from_documents(docs).rules.remove(0)
//! });
//! let finding = |t: i64, host: &str| Finding {
//!     time: t, rule: 0, host: host.into(), account: Some("CORP\\eve".into()),
//!     entities: vec![Entity { kind: EntityKind::Account, value: "CORP\\eve".into() }],
//!     input: 0, record: t as u64,
//! };
//! let mut inv = Investigation::default();
//! inv.add_detection(finding(0, "WS01"));
//! inv.add_detection(finding(60_000_000_000, "WS02"));
//! let report = inv.build(&[rule], Options::default(), &["logs".into()]);
//! assert_eq!(report.incidents.len(), 1);
//! assert_eq!(report.incidents[0].hosts.len(), 2);
//! assert_eq!(report.incidents[0].dwell_seconds, 60);
//! ```
#![deny(missing_docs)]

mod addresses;
mod identity;
mod incident;
mod logon;
mod observer;
mod trace;

pub use addresses::Addresses;
pub use identity::{Alias, DomainSid, Identities, read_map};
pub use incident::model::{Compromised, LeftOut, Remediated, Sanctioned, SetAside, Stage};
pub use incident::model::{
    DetectionRef, Edge, EvidenceRef, Incident, Link, PatientZero, RecordRef, Report, RuleCount,
    TacticSeen, Touched,
};
pub use incident::{
    Finding, Investigation, LEARNING_DAYS, Options, ROUTINE_DAYS, WIDE_SHAPES, WIDE_SHARE, severity,
};
pub use logon::{Evidence, Logon, LogonKind, Movement};
pub use observer::LogonReader;
pub use trace::{Address, Change, Remediation, Trace};
