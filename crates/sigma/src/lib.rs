//! The Sigma rule language: loading, checking and compiling rules.
//!
//! This crate reads YAML rule files (safely: bounded size, nodes, aliases and depth), parses
//! detection rules, correlation rules and filters as the Sigma 2.1 specification defines them,
//! and compiles each detection into value matchers. It does no I/O beyond reading rule files
//! and knows nothing about events; `dwell-detect` runs the compiled rules.

pub mod condition;
pub mod item;
pub mod load;
pub mod pattern;
pub mod rule;
pub mod yaml;

pub use condition::Cond;
pub use item::{Item, Matcher, Placeholders, RefMode, Value, ValueKind};
pub use load::{LoadOptions, RuleSet, load_paths, parse_text};
pub use rule::{
    CmpOp, Correlation, CorrelationType, Detection, Document, ErrorKind, Filter, Level, LogSource,
    Meta, Origin, Rule, RuleError, Search, Status,
};
