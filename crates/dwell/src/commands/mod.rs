//! One module per command; `scan` is the run that `hunt` and `investigate` share, and
//! `incidents` the investigation outputs that `hunt`, `investigate` and `report` share.

pub mod demo;
pub mod hunt;
mod incidents;
pub mod investigate;
pub mod report;
pub mod rules;
mod scan;
pub mod scope;
pub mod simulate;
pub mod tune;
pub mod update;
pub mod watch;
