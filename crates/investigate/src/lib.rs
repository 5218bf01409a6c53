//! Turns detections into incidents: what was touched ([`entity`]), how an account moved
//! between hosts ([`logon`]), and which detections belong together ([`incident`]).
//!
//! The crate works on plain data handed to it by the caller (a field lookup per event, the
//! detections in time order), so it has no opinion on where events come from.

pub mod entity;
pub mod incident;
pub mod logon;

pub use entity::{Entity, EntityKind};
pub use incident::{Investigation, Options, Report};
pub use logon::Logon;
