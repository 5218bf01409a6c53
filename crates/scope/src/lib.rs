//! `dwell scope`: what an intruder read from the databases, and whose data it was.
//!
//! [`map`] reads the data map (tables of people, their person column and each column's
//! category); [`sql`] works out what a logged statement read; [`eval`] evaluates a read's
//! filter against a snapshot of the table, and [`join`] a read of several; [`snapshot`]
//! loads one; [`scope()`] puts them
//! together over the statements a principal ran.
#![deny(missing_docs)]

pub mod contacts;
pub mod db;
pub mod eval;
pub mod join;
pub mod map;
pub mod notice;
mod scope;
pub mod snapshot;
pub mod sql;

pub use map::DataMap;
pub use scope::{
    Access, Bound, Credentials, Logged, Principals, ROUTINE_DAYS, Routine, Scope, Touch, Touched,
    scope, user_part,
};
