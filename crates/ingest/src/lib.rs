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
//! use dwell_ingest::{Decoder, FileSource, Found, Gather, Registry, Source};
//!
//! // Two JSON lines in memory, read the way files are.
//! let found = vec![Found::memory("mem.jsonl", &b"{\"a\":1}\n{\"a\":2}\n"[..])];
//! let mut feed = Gather::default();
//! FileSource::new(found, Registry::builtin()).run(&mut feed);
//! assert_eq!(feed.formats, [(0, "json")]);
//! assert!(feed.problems.is_empty() && feed.failures.is_empty());
//! let mut values = Vec::new();
//! let mut decoder = Decoder::default();
//! for b in &feed.batches {
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
    Access, Auditd, DecodeError, Evtx, EvtxJson, Fit, Format, Head, Hooks, Json, JsonFamily,
    Layout, LogFormat, Opening, Postgres, RecordCx, Registry, Settings, Squid, Stamp, Syslog, W3c,
    WebError,
};
pub use source::{Compression, Feed, Gather, InputInfo, Source};
pub use stream::MAX_RECORD;
pub use unit::{Blocks, Unit};
