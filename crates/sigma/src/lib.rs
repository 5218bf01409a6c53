//! The Sigma rule language: loading, checking and compiling rules.
//!
//! This crate reads YAML rule files (safely: bounded size, nodes, aliases and depth, in
//! [`yaml`]), parses detection rules, correlation rules and filters as the Sigma 2.1
//! specification defines them, and compiles each detection into value matchers ([`pattern`]
//! has the string patterns and case folding). It does no I/O beyond reading rule files and
//! knows nothing about events; `dwell-detect` runs the compiled rules.
//!
//! ```
//! use dwell_sigma::{Document, Level, parse_text};
//!
//! let text = "title: Mimikatz\nlevel: high\nlogsource: {product: windows}\n\
//!             detection: {sel: {CommandLine|contains: sekurlsa}, condition: sel}\n";
//! let (docs, errors) = parse_text(text, "r.yml", &Default::default());
//! assert!(errors.is_empty());
//! let Document::Rule(rule) = &docs[0] else { panic!() };
//! assert_eq!(rule.meta.level, Some(Level::High));
//! assert_eq!(rule.detection.searches[0].name, "sel");
//! ```
#![deny(missing_docs)]

mod condition;
mod correlation;
mod extension;
mod item;
mod load;
mod meta;
pub mod pattern;
mod rule;
pub mod update;
pub mod yaml;

pub use condition::Cond;
pub use correlation::{Alias, CmpOp, CorrCondition, Correlation, CorrelationType, parse_timespan};
pub use extension::{Extension, FirstSeen, Hours, person_of, zone_of};
pub use item::{Item, Matcher, Placeholders, RefMode, Value, ValueKind};
pub use load::{
    LoadOptions, RuleSet, apply_filters, load_paths, load_with, parse_text, rule_files,
};
pub use meta::{ErrorKind, Level, Meta, Origin, RuleError, Status};
pub use rule::{Detection, Document, Filter, LogSource, Rule, Search, parse_document};
