//! dwell's shared vocabulary, used by every other crate: the flat [`Event`] that every log
//! format is decoded into and the [`Record`] a detection keeps of it, event [`time`], stable
//! identities ([`InputId`], [`EventKey`], [`AlertId`]), the [`Entity`] names investigations follow
//! and their [`entity`] normalisers, [`Problem`]s found inside inputs, the [`Observer`] interface, and text made safe for a terminal ([`text`]).
//!
//! ```
//! use dwell_core::{Event, Kind, Role, Section, time};
//!
//! let mut ev = Event::default();
//! let i = ev.push("Computer", "Event.System.Computer", "WS01", Kind::Str, Section::Header);
//! ev.set_role(Role::Host, i);
//! assert_eq!(ev.host(), Some("WS01"));
//! assert_eq!(ev.to_record().to_json(), r#"{"Computer":"WS01"}"#);
//! assert!(time::parse_checked("9999-12-31T00:00:00Z").is_err());
//! ```
#![deny(missing_docs)]

mod entities;
pub mod entity;
mod event;
mod id;
pub mod json;
mod observe;
mod problem;
mod record;
pub mod text;
pub mod time;

pub use entities::{Entities, Entity, EntityKind};
pub use event::{
    Event, Field, Gate, Kind, NO_SYM, ROLES, Resolver, Role, RoleNames, Section, Span,
};
pub use id::{AlertId, EventKey, InputId};
pub use observe::{Observer, Place, Tap};
pub use problem::Problem;
pub use record::Record;
