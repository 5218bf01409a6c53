//! What sources hand the detector: chunks of whole records of one input, with where they end
//! in their source (so a checkpoint can resume after them) and who waits for them to be
//! durable. [`Framed`] turns a byte stream into chunks with the input's own format and framer,
//! the same ones `hunt` reads with.

use dwell_ingest::framing::{Framer, Piece};
use dwell_ingest::{Format, Head, Layout, Opening, Registry};
use std::sync::Arc;
use std::time::Instant;

/// Where a followed file stands after a chunk: its identity and the first unread byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilePos {
    /// Device and inode: the file, whatever its name becomes.
    pub dev: u64,
    /// See `dev`.
    pub ino: u64,
    /// Bytes consumed (records given to the detector).
    pub offset: u64,
    /// The line (or frame) the next record starts at.
    pub line: u64,
}

/// A followed file's position, as the checkpoint keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMark {
    /// The name it was last seen under.
    pub path: String,
    /// Where it stands.
    pub pos: FilePos,
    /// It was rotated away and read to its end: forget it.
    pub closed: bool,
}

/// Called once the records of a chunk are durable (their state and alerts committed): an
/// HTTP answer, a NATS acknowledgement.
pub type Ack = Box<dyn FnOnce(Accepted) + Send>;

/// What a source is told about its chunk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Records decoded.
    pub events: u64,
    /// Records refused as bad input.
    pub rejected: u64,
    /// The first problems, with their place.
    pub problems: Vec<String>,
}

/// Whole records of one input.
pub struct Chunk {
    /// The input, stable across restarts (`file:/var/log/auth.log`, `http`, `syslog+udp`).
    pub key: String,
    /// Its format, opened for this input.
    pub format: Arc<dyn Format>,
    /// The bytes the pieces index.
    pub text: Vec<u8>,
    /// The records.
    pub pieces: Vec<Piece>,
    /// What [`Piece::line`] counts.
    pub unit: &'static str,
    /// For a followed file: where it stands after these records.
    pub file: Option<FileMark>,
    /// When the records arrived.
    pub arrived: Instant,
    /// When they were published, nanoseconds since the epoch (NATS): latency counts from here.
    pub published: Option<i64>,
    /// The stream sequence of the last record (NATS): committed with the state it made.
    pub seq: Option<u64>,
    /// Detections from other partitions (NATS), encoded: then there are no records.
    pub matches: Vec<Vec<u8>>,
    /// Messages still waiting in the stream after this chunk (NATS).
    pub pending: Option<u64>,
    /// Told when the records are durable.
    pub ack: Option<Ack>,
    /// Someone waits on `ack` (an HTTP client): commit now rather than at the next interval.
    pub urgent: bool,
}

impl Chunk {
    /// A chunk of `key`'s records in `format` (none yet), arrived now, nobody waiting.
    pub fn new(key: String, format: Arc<dyn Format>, unit: &'static str) -> Chunk {
        Chunk {
            key,
            format,
            text: Vec::new(),
            pieces: Vec::new(),
            unit,
            file: None,
            arrived: Instant::now(),
            published: None,
            seq: None,
            matches: Vec::new(),
            pending: None,
            ack: None,
            urgent: false,
        }
    }
}

/// A byte stream framed into records of one format.
pub struct Framed {
    pub(crate) format: Arc<dyn Format>,
    framer: Box<dyn Framer>,
    /// Added to the framer's line numbers: a stream resumed from a checkpoint goes on counting.
    base_line: u64,
    buf: Vec<u8>,
}

/// Why a stream cannot be framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unframeable(pub String);

impl Framed {
    /// Recognises `head` (the stream's first bytes) with `registry`, or takes `forced`, and
    /// opens the format for this stream. A format read in blocks (EVTX) cannot be followed.
    pub fn open(
        registry: &Registry,
        forced: Option<&Arc<dyn Format>>,
        head: &[u8],
        modified: i64,
        line: u64,
    ) -> Result<Framed, Unframeable> {
        let h = Head {
            bytes: &head[..head.len().min(64 << 10)],
            complete: false,
        };
        let format = match forced {
            Some(f) => f.clone(),
            None => registry
                .recognise(&h)
                .cloned()
                .ok_or_else(|| Unframeable("not a log format dwell reads".into()))?,
        };
        let format = match format.open(&Opening {
            head: h,
            modified,
            settings: registry.settings(),
        }) {
            Ok(Some(f)) => f,
            Ok(None) => format,
            Err(e) => return Err(Unframeable(e)),
        };
        let framer = match format.layout() {
            Layout::Stream(f) => f(),
            Layout::Blocks => {
                return Err(Unframeable(format!(
                    "{} is read in blocks, not as a stream: hunt such files, or forward the events as JSON",
                    format.name()
                )));
            }
        };
        Ok(Framed {
            format,
            framer,
            base_line: line.saturating_sub(1),
            buf: Vec::new(),
        })
    }

    /// A stream of `format` cut by `framer` (syslog over TCP: octet counting).
    pub fn with_framer(format: Arc<dyn Format>, framer: Box<dyn Framer>) -> Framed {
        Framed {
            format,
            framer,
            base_line: 0,
            buf: Vec::new(),
        }
    }

    /// Adds bytes; returns the whole records now available (text, pieces) and how many bytes
    /// of the stream they used. With `eof` the stream has ended and a last record without its
    /// terminator is taken as it is.
    pub fn push(&mut self, bytes: &[u8], eof: bool) -> (Vec<u8>, Vec<Piece>, usize) {
        self.buf.extend_from_slice(bytes);
        let mut pieces = Vec::new();
        let used = self.framer.split(&self.buf, eof, &mut pieces);
        if used == 0 {
            return (Vec::new(), Vec::new(), 0);
        }
        let rest = self.buf.split_off(used);
        let text = std::mem::replace(&mut self.buf, rest);
        for p in &mut pieces {
            p.line += self.base_line;
        }
        (text, pieces, used)
    }

    /// Bytes held for a record not yet complete.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The line the next record starts at.
    pub fn line(&self) -> u64 {
        self.framer.position() + self.base_line
    }

    /// What the framer counts.
    pub fn unit(&self) -> &'static str {
        self.framer.unit()
    }

    /// The record held is over the size limit: skip to its end.
    pub fn drop_record(&mut self) {
        self.buf.clear();
        self.framer.drop_record();
    }
}

/// Nanoseconds since the epoch, now.
pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}
