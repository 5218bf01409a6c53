//! Log inputs for dwell: finding them, recognising each by its content, framing it into
//! records and decoding records into [`dwell_core::Event`]s, through log formats that are
//! plug-ins.
//!
//! The reading side is one thread: [`discover`] finds inputs, a [`Source`] ([`FileSource`])
//! opens each once, lets the [`Registry`] recognise its format, and cuts it into [`Batch`]es
//! of whole records (with a [`framing`] framer, or the format's own block plan). The decoding
//! side runs on worker threads: a [`Decoder`] hands each batch to its format. Problems inside
//! an input are reported, never fatal.
//!
//! ```
//! use dwell_ingest::{Decoder, Feed, Found, FileSource, Registry, Source};
//!
//! // Two JSON lines in memory, read the way files are.
//! let found = vec![Found::memory("mem.jsonl", &b"{\"a\":1}\n{\"a\":2}\n"[..])];
//! struct Collect(Vec<dwell_ingest::Batch>);
//! impl Feed for Collect {
//!     fn opened(&mut self, _: u32, f: &std::sync::Arc<dyn dwell_ingest::Format>, _: dwell_ingest::Compression) {
//!         assert_eq!(f.name(), "json");
//!     }
//!     fn batch(&mut self, b: dwell_ingest::Batch) -> bool { self.0.push(b); true }
//!     fn problem(&mut self, p: dwell_core::Problem) { panic!("{p}") }
//!     fn failed(&mut self, _: u32, e: dwell_ingest::ReadError) { panic!("{e}") }
//!     fn progress(&mut self, _: u64) {}
//! }
//! let mut feed = Collect(Vec::new());
//! FileSource::new(found, Registry::builtin()).run(&mut feed);
//! let mut values = Vec::new();
//! let mut decoder = Decoder::default();
//! for b in &feed.0 {
//!     decoder.decode(b, &mut |ev| values.push(ev.get("a").unwrap().to_string()), &mut |_| {});
//! }
//! assert_eq!(values, ["1", "2"]);
//! ```
#![deny(missing_docs)]

mod batch;
mod decode;
mod error;
mod file_source;
mod files;
mod formats;
pub mod framing;
pub mod json;
mod source;
mod stream;
mod unit;

pub use batch::Batch;
pub use decode::Decoder;
pub use error::ReadError;
pub use file_source::FileSource;
pub use files::{Found, Location, STDIN_NAME, Skipped, discover};
pub use formats::{
    DecodeError, Evtx, EvtxJson, Fit, Format, Head, Hooks, Json, Layout, RecordCx, Registry, Stamp,
};
pub use source::{Compression, Feed, InputInfo, Source};
pub use stream::MAX_RECORD;
pub use unit::{Blocks, Unit};
