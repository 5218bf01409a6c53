//! Watching a run as it goes: problems as they are found, progress. The pipeline counts and
//! keeps everything itself; a monitor only shows it (the command line prints warnings and a
//! progress bar).

use dwell_core::Problem;
use dwell_ingest::{InputInfo, ReadError};

/// Receives what happens during a run. Called from several threads.
pub trait Monitor: Sync {
    /// A problem inside `input`; `nth` counts this input's problems so far (1-based).
    fn problem(&self, input: &InputInfo, problem: &Problem, nth: u64) {
        let _ = (input, problem, nth);
    }
    /// `input` could not be read at all.
    fn failed(&self, input: &InputInfo, error: &ReadError) {
        let _ = (input, error);
    }
    /// Bytes read and events decoded so far.
    fn progress(&self, bytes: u64, events: u64) {
        let _ = (bytes, events);
    }
}

/// A monitor that shows nothing.
pub struct Quiet;

impl Monitor for Quiet {}
