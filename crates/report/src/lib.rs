//! Presenting what a hunt found: detections sorted by time in bounded memory, written as a
//! terminal table, a CSV timeline or JSON lines, plus the run summary and coverage document.

pub mod case;
pub mod detection;
pub mod html;
pub mod incidents;
pub mod sort;
mod spill;
pub mod summary;
pub mod write;

pub use detection::{CorrelationDetail, Detection, MemberRef};
pub use sort::Sorter;
pub use summary::{Coverage, InputCoverage, RuleCoverage, RuleState, Summary};
pub use write::{Format, RuleView, Writer};
