//! Sinks: where detections go (a writer, an investigation, a test's vector), and the run's
//! tables they read: the rule table and the input table that detections index.

use dwell_detect::{Detection, RuleInfo};
use dwell_ingest::{Compression, Format, InputInfo};
use std::io;
use std::sync::{Arc, RwLock};

/// Why a sink did not take a detection.
#[derive(Debug)]
pub enum SinkError {
    /// Its destination has gone (the reader of a pipe closed it): the run goes on without it.
    Closed,
    /// It failed: the run stops.
    Failed(String),
}

impl std::fmt::Display for SinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SinkError::Closed => f.write_str("output closed"),
            SinkError::Failed(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for SinkError {}

impl From<io::Error> for SinkError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            SinkError::Closed
        } else {
            SinkError::Failed(e.to_string())
        }
    }
}

/// The run's inputs. Formats become known as inputs are opened, while detections of earlier
/// inputs may already be on their way, so the table is shared behind a lock.
#[derive(Debug, Default)]
pub struct InputTable {
    inputs: RwLock<Vec<InputInfo>>,
}

impl InputTable {
    /// A table of `inputs`.
    pub fn new(inputs: Vec<InputInfo>) -> InputTable {
        InputTable {
            inputs: RwLock::new(inputs),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<InputInfo>> {
        self.inputs.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of inputs.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Input `i` as it stands.
    pub fn get(&self, i: u32) -> Option<InputInfo> {
        self.read().get(i as usize).cloned()
    }

    /// How outputs name each input, by index.
    pub fn names(&self) -> Vec<String> {
        self.read().iter().map(|i| i.display.clone()).collect()
    }

    /// The format of input `i`, once known.
    pub fn format(&self, i: u32) -> Option<Arc<dyn Format>> {
        self.read().get(i as usize).and_then(|x| x.format.clone())
    }

    /// Every input as it stands.
    pub fn snapshot(&self) -> Vec<InputInfo> {
        self.read().clone()
    }

    /// Adds an input at the end; returns its index.
    pub fn push(&self, info: InputInfo) -> u32 {
        let mut w = self.inputs.write().unwrap_or_else(|e| e.into_inner());
        w.push(info);
        (w.len() - 1) as u32
    }

    pub(crate) fn opened(&self, i: u32, format: &Arc<dyn Format>, compression: Compression) {
        let mut w = self.inputs.write().unwrap_or_else(|e| e.into_inner());
        if let Some(x) = w.get_mut(i as usize) {
            x.format = Some(format.clone());
            x.compression = compression;
        }
    }
}

/// What a sink may look detections up in.
pub struct Tables<'a> {
    /// Detection rules, then correlations (a detection's `rule`).
    pub rules: &'a [RuleInfo],
    /// The inputs (a detection's `input`).
    pub inputs: &'a InputTable,
}

/// Something that receives detections, in order.
pub trait Sink: Send {
    /// Takes one detection.
    fn detection(&mut self, d: &Detection, tables: &Tables<'_>) -> Result<(), SinkError>;
    /// Every detection has been given.
    fn finish(&mut self, tables: &Tables<'_>) -> Result<(), SinkError> {
        let _ = tables;
        Ok(())
    }
}

/// A sink that keeps every detection (tests, embedders).
#[derive(Debug, Default)]
pub struct Collect {
    /// What was received, in order.
    pub detections: Vec<Detection>,
}

impl Sink for Collect {
    fn detection(&mut self, d: &Detection, _: &Tables<'_>) -> Result<(), SinkError> {
        self.detections.push(d.clone());
        Ok(())
    }
}
