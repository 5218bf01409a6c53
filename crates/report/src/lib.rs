//! Presenting what a run found: the detection writer (a pipeline sink: table, CSV, JSONL,
//! Timesketch, OCSF), the investigation sink and its case file, the incident summary, JSON
//! document and timeline, the HTML report, the closing summary and the coverage document.
//!
//! ```
//! use dwell_report::{Format, Writer};
//!
//! // An empty run still writes a CSV header, and nothing else.
//! let w = Writer::new(Format::Csv, Vec::new(), false, 80);
//! let out = String::from_utf8(w.finish().unwrap()).unwrap();
//! assert!(out.starts_with("datetime,timestamp,timestamp_desc,message"));
//! assert_eq!(out.lines().count(), 1);
//! ```
#![deny(missing_docs)]

pub mod case;
mod coverage;
pub mod details;
mod encode;
pub mod events;
mod files;
pub mod html;
pub mod incidents;
mod investigation;
pub mod navigator;
mod ocsf;
mod summary;
mod table;
pub mod tune;
mod writer;

pub use coverage::{Coverage, InputCoverage, RuleCoverage, RuleState, Run};
pub use encode::{csv_cell, push_json, rule_key};
pub use files::write_whole;
pub use investigation::Investigator;
pub use summary::{Summary, group};
pub use table::short_channel;
pub use writer::{CSV_COLUMNS, Format, Profile, Writer, csv_columns, record_id};
