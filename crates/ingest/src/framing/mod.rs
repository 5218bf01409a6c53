//! Framing: where one record ends and the next begins in a stream of bytes, apart from what the
//! records say. A framer is fed the stream a buffer at a time and reports whole records, so the
//! same framers serve files, pipes and (later) sockets.
//!
//! - [`JsonFramer`]: JSON lines, a JSON array of objects, or concatenated (pretty-printed)
//!   objects, told apart by the text itself.
//! - [`LineFramer`]: one record per line (LF or CRLF), blank lines skipped.
//! - [`OctetFramer`]: RFC 6587 octet counting (`LEN SP MSG`), falling back to LF-terminated
//!   records for frames that do not start with a length, as syslog receivers do.

mod csv;
mod grouped;
mod json;
mod keyed;
mod lines;
mod octet;

pub use csv::CsvRows;
pub use grouped::{GroupedLines, MAX_LINES};
pub use json::JsonFramer;
pub use keyed::KeyedLines;
pub use lines::LineFramer;
pub use octet::OctetFramer;

/// One record found in a buffer: its bytes are `buf[start..end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset after the last byte.
    pub end: usize,
    /// Where the record starts, 1-based: its line ([`Framer::unit`] `line`) or frame number.
    pub line: u64,
}

/// Cuts a byte stream into records.
pub trait Framer: Send {
    /// Scans `buf`, the unconsumed input, pushing whole records to `out`; returns how many
    /// bytes were consumed. Unconsumed bytes (a record cut by the end of the buffer) must be
    /// passed again with more data after them. With `eof`, everything is consumed and a record
    /// cut by the end of the stream is returned as it is.
    fn split(&mut self, buf: &[u8], eof: bool, out: &mut Vec<Piece>) -> usize;

    /// Where the unconsumed input starts (see [`Piece::line`]).
    fn position(&self) -> u64;

    /// The record at the start of the unconsumed input is too large to keep: the next calls to
    /// [`Framer::split`] skip to its end before finding records again.
    fn drop_record(&mut self);

    /// What [`Piece::line`] counts: `line` or `frame`.
    fn unit(&self) -> &'static str {
        "line"
    }

    /// What the records after the consumed input depend on from earlier in the stream (W3C's
    /// `#Fields:` directive): handed to the format with the next batch, since a batch must
    /// decode on its own.
    fn header(&self) -> Option<std::sync::Arc<[u8]>> {
        None
    }
}

/// Skips to the end of the current line: the shared "drop this record" of line-based framers.
/// Returns the bytes consumed and whether the line ended inside `buf`.
fn skip_line(buf: &[u8]) -> (usize, bool) {
    match memchr::memchr(b'\n', buf) {
        Some(k) => (k + 1, true),
        None => (buf.len(), false),
    }
}
