//! Why an input could not be read at all (problems inside an input are
//! [`dwell_core::Problem`]s, and the rest of it is still read).

use std::fmt;
use std::io;

/// Why an input was not read.
#[derive(Debug)]
pub enum ReadError {
    /// Opening or reading it failed.
    Io(io::Error),
    /// It is not a log any registered format reads; `what` says what it looks like.
    NotALog {
        /// `binary data`, `text`...
        what: &'static str,
        /// What the registered formats read.
        formats: String,
    },
    /// A format recognised it, but not a variant it reads.
    Refused {
        /// The format.
        format: &'static str,
        /// Which variant it looked like, and why it is not read.
        reason: String,
    },
    /// It is empty (after decompression, when compressed).
    Empty {
        /// It was compressed.
        compressed: bool,
    },
    /// Its compression is damaged.
    Compression(String),
    /// Its format's own structure is invalid (an EVTX file header, say).
    Invalid(String),
    /// A format was asked for something it does not do.
    Unsupported(&'static str),
    /// It is not a regular file (a FIFO or device found in a folder).
    Special(&'static str),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => f.write_str(&io_reason(e)),
            ReadError::NotALog { what, formats } => {
                write!(f, "not a log dwell reads: {what} (dwell reads {formats})")
            }
            ReadError::Refused { format, reason } => write!(f, "looks like {format}, but {reason}"),
            ReadError::Empty { compressed: false } => f.write_str("empty file"),
            ReadError::Empty { compressed: true } => f.write_str("empty after decompression"),
            ReadError::Compression(e) => write!(f, "corrupt compressed data: {e}"),
            ReadError::Invalid(e) => f.write_str(e),
            ReadError::Unsupported(name) => {
                write!(f, "format {name} cannot plan blocks (internal error)")
            }
            ReadError::Special(kind) => write!(
                f,
                "{kind}, not a regular file: not read when found in a folder (name it directly to read it)"
            ),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// An I/O error as a short reason.
pub(crate) fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or folder".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An error with its causes, on one line: `outer: inner: root cause`.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = one_line(&e.to_string());
    let mut cur = e.source();
    while let Some(c) = cur {
        let msg = one_line(&c.to_string());
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = c.source();
    }
    out
}
