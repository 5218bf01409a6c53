//! Units of decoding work. The reading side (one thread: file I/O, decompression, framing or
//! block planning) cuts an input into [`Batch`]es of whole records; any worker thread can
//! decode any batch, so one large file keeps every core busy.

use crate::formats::Format;
use crate::unit::Unit;
use std::sync::Arc;

/// A unit of decoding work: whole records of one input, and the format that decodes them.
pub struct Batch {
    /// Index into the run's input table.
    pub input: u32,
    /// The input's format.
    pub format: Arc<dyn Format>,
    /// The records.
    pub unit: Unit,
}

impl Batch {
    /// Approximate size in bytes, for progress reporting.
    pub fn bytes(&self) -> u64 {
        match &self.unit {
            Unit::Records { text, .. } => text.len() as u64,
            Unit::Blocks { bytes, .. } => *bytes,
        }
    }
}
