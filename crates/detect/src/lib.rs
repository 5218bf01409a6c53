//! Running Sigma rules over events, and what a rule hit is.
//!
//! [`Engine`] holds the rules compiled per log source and indexed by route (stream or format)
//! and event code, with a literal prefilter per bucket so that most rules are never evaluated
//! on most events. [`Mapping`] says which events each Sigma log source covers (data that each
//! log format brings). [`Correlator`] runs Sigma correlation rules over detections in time
//! order. [`Detection`] is the one type a rule hit has, and [`RuleInfo`] the one description of
//! a rule; [`Selection`] picks the rules a run uses and [`Detector`] compiles them.
//!
//! ```
//! use dwell_detect::{Engine, Mapping};
//! use dwell_core::{Event, Kind, Role, Section};
//!
//! let mapping = Mapping::parse(
//!     "sources: [{logsource: {product: windows, service: security}, channel: Security}]",
//! ).unwrap();
//! let rule = "title: Logon\nlogsource: {product: windows, service: security}\n\
//!             detection: {sel: {EventID: 4624}, condition: sel}\n";
//! let (docs, errors) = dwell_sigma::parse_text(rule, "r.yml", &Default::default());
//! assert!(errors.is_empty());
//! let set = dwell_sigma::RuleSet::from_documents(docs);
//! let (engine, unmapped) = Engine::new(set.rules, &mapping);
//! assert!(unmapped.is_empty());
//!
//! let mut ev = Event::default();
//! let i = ev.push("Channel", "Channel", "Security", Kind::Str, Section::Header);
//! ev.set_role(Role::Stream, i);
//! let i = ev.push("EventID", "EventID", "4624", Kind::Num, Section::Header);
//! ev.set_role(Role::Code, i);
//! let (mut scratch, mut hits) = (engine.scratch(), Vec::new());
//! engine.scan(&ev, &mut scratch, &mut hits);
//! assert_eq!(hits, [0]);
//! assert_eq!(engine.rules[0].title, "Logon");
//! ```
#![deny(missing_docs)]

mod correlate;
mod detection;
mod detector;
mod engine;
mod fields;
mod mapping;
mod novelty;
mod rules;
mod select;
mod state;

pub use correlate::{
    CorrelationProblem, Correlator, Firing, MAX_MEMBERS, Member, Source, Stats as CorrelationStats,
};
pub use detection::{CorrelationDetail, Detection, MemberRef, SortKey};
pub use detector::{Detector, NotRun};
pub use engine::{Costly, Engine, Scratch, Unmapped, costly};
pub use mapping::{Mapping, MappingError, Source as MappingSource};
pub use novelty::{MAX_SEEN, Novelty, NoveltyStats};
pub use rules::{RuleInfo, RuleKind, TACTICS, tactics};
pub use select::{Filtered, Selected, Selection};
pub use state::StateError;
