//! A small, versioned binary encoding for the state a long-running detector checkpoints
//! (correlation windows, first-seen baselines): little-endian integers and length-prefixed
//! strings, read back with typed errors so a damaged checkpoint is refused, never trusted.

use std::fmt;

/// Why saved state could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError(pub String);

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "saved detector state: {}", self.0)
    }
}

impl std::error::Error for StateError {}

/// Appends values to a byte buffer.
#[derive(Default)]
pub(crate) struct Put(pub(crate) Vec<u8>);

impl Put {
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    pub(crate) fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            Some(v) => {
                self.0.push(1);
                self.i64(v);
            }
            None => self.0.push(0),
        }
    }
}

/// Reads values back, refusing truncated or implausible input.
pub(crate) struct Take<'a> {
    bytes: &'a [u8],
}

impl<'a> Take<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Take<'a> {
        Take { bytes }
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], StateError> {
        if self.bytes.len() < n {
            return Err(StateError("truncated".into()));
        }
        let (a, b) = self.bytes.split_at(n);
        self.bytes = b;
        Ok(a)
    }
    pub(crate) fn u64(&mut self) -> Result<u64, StateError> {
        Ok(u64::from_le_bytes(self.bytes(8)?.try_into().unwrap()))
    }
    pub(crate) fn i64(&mut self) -> Result<i64, StateError> {
        Ok(i64::from_le_bytes(self.bytes(8)?.try_into().unwrap()))
    }
    pub(crate) fn u32(&mut self) -> Result<u32, StateError> {
        Ok(u32::from_le_bytes(self.bytes(4)?.try_into().unwrap()))
    }
    /// A count of items at least `each` bytes long: never more than what is left could hold,
    /// so a damaged length cannot make the reader allocate without bound.
    pub(crate) fn count(&mut self, each: usize) -> Result<usize, StateError> {
        let n = self.u64()?;
        if n > (self.bytes.len() / each.max(1)) as u64 {
            return Err(StateError(format!(
                "a count of {n} items is longer than the state"
            )));
        }
        Ok(n as usize)
    }
    pub(crate) fn str(&mut self) -> Result<String, StateError> {
        let n = self.count(1)?;
        String::from_utf8(self.bytes(n)?.to_vec())
            .map_err(|_| StateError("text is not UTF-8".into()))
    }
    pub(crate) fn opt_i64(&mut self) -> Result<Option<i64>, StateError> {
        match self.bytes(1)?[0] {
            0 => Ok(None),
            1 => Ok(Some(self.i64()?)),
            b => Err(StateError(format!("bad option tag {b}"))),
        }
    }
    pub(crate) fn magic(&mut self, want: &[u8]) -> Result<(), StateError> {
        if self.bytes(want.len())? != want {
            return Err(StateError(
                "not dwell detector state (or another version)".into(),
            ));
        }
        Ok(())
    }
    pub(crate) fn end(&self) -> Result<(), StateError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(StateError(format!(
                "{} bytes after the end",
                self.bytes.len()
            )))
        }
    }
}
