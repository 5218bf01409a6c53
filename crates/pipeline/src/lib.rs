//! dwell's one pipeline, shared by every command: a [`Source`](dwell_ingest::Source) emits
//! batches of records, worker threads decode them (each with its input's format) and run the
//! rules, an [`Ordering`] puts the detections in time order, the correlations run over them,
//! and every [`Sink`] receives the result. Observers ([`dwell_core::Observer`]) see the events
//! beside the rules; a [`Monitor`] sees problems and progress as they happen. The pipeline
//! knows no paths and no sockets: sources and sinks do.
//!
//! ```
//! use dwell_detect::{Detector, Mapping, Selection};
//! use dwell_ingest::{FileSource, Found, Registry};
//! use dwell_pipeline::{Collect, Options, Pipeline, SortSpill};
//!
//! let rule = "title: Evil\nlogsource: {product: windows, category: process_creation}\n\
//!             detection: {sel: {CommandLine|contains: evil}, condition: sel}\n";
//! let (docs, _) = dwell_sigma::parse_text(rule, "r.yml", &Default::default());
//! let set = dwell_sigma::RuleSet::from_documents(docs);
//! let registry = Registry::builtin();
//! let mapping = Mapping::from_texts(&registry.mappings()).unwrap();
//! let mut detector = Detector::build(Selection::default().apply(set.rules, set.correlations), &mapping);
//!
//! let log = br#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"run evil.exe"}"#;
//! let mut source = FileSource::new(vec![Found::memory("events.jsonl", &log[..])], registry);
//! let mut found = Collect::default();
//! let stats = Pipeline::new(&mut detector, Options::default())
//!     .run(&mut source, Box::new(SortSpill::new(1 << 20)), &mut [&mut found])
//!     .unwrap();
//! assert_eq!(stats.events, 1);
//! assert_eq!(found.detections[0].matched, [("CommandLine".to_string(), "run evil.exe".to_string())]);
//! ```
#![deny(missing_docs)]

mod error;
mod live;
mod monitor;
mod order;
mod output;
mod problems;
mod run;
mod scan;
mod sink;
mod spill;
mod stats;
mod worker;

pub use error::PipelineError;
pub use live::{Live, Step};
pub use monitor::{Monitor, Quiet};
pub use order::{Ordered, Ordering, SortSpill, Watermark};
pub use problems::SAMPLES_PER_INPUT;
pub use run::{Options, Pipeline, Window};
pub use sink::{Collect, InputTable, Sink, SinkError, Tables};
pub use stats::{DetectionStats, InputStats, RunStats};
