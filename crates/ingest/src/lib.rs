//! Log inputs for dwell: files, folders and compressed files turned into flat events.
//!
//! [`input::discover`] finds and recognises inputs by content (EVTX, JSON lines, JSON arrays,
//! concatenated JSON objects, each optionally gzip- or zstd-compressed); [`input::read`] cuts
//! one into [`input::Batch`]es on a reader thread; [`input::Decoder`] turns batches into
//! [`Event`]s on worker threads. Problems inside an input are reported, never fatal.

pub mod event;
pub mod evtx;
pub mod input;
pub mod json;
pub mod time;

pub use event::{Event, Field, Gate, Kind, Known, NO_SYM, Resolver, Section, Span};
pub use input::{Batch, Compression, Decoder, Format, Input, Problem, Skipped, discover, read};
