//! Running compiled Sigma rules over events.
//!
//! [`Engine`] holds the rules compiled per log source and indexed by (channel, EventID), with a
//! literal prefilter per bucket so that most rules are never evaluated on most events.
//! [`Mapping`] says which events each Sigma log source covers (data in `data/logsources.yml`).
//! [`Correlator`] runs Sigma correlation rules over detections in time order.

pub mod correlate;
pub mod engine;
pub mod fields;
pub mod mapping;

pub use correlate::{Correlator, Firing, Member};
pub use engine::{Engine, RuleInfo, Scratch, Unmapped};
pub use mapping::{Mapping, Source};
