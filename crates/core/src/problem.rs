//! Problems inside an input: what could not be read, where, and why. A problem never stops the
//! rest of the input from being read; each is reported and counted.

use std::fmt;

/// A problem inside an input that did not stop the rest of it from being read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Index into the run's input table.
    pub input: u32,
    /// Where: `chunk 3`, `record 1234`, `line 17`.
    pub place: String,
    /// What is wrong, for people.
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.reason)
    }
}
