//! Why a run could not finish.

use std::fmt;
use std::io;

/// A run that stopped before its end.
#[derive(Debug)]
pub enum PipelineError {
    /// Ordering detections failed (temporary files).
    Ordering(io::Error),
    /// A sink failed.
    Sink(String),
    /// A thread could not be started.
    Thread(io::Error),
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineError::Ordering(e) => {
                write!(f, "sorting detections failed (temporary files): {e}")
            }
            PipelineError::Sink(e) => write!(f, "writing detections failed: {e}"),
            PipelineError::Thread(e) => write!(f, "cannot start a thread: {e}"),
        }
    }
}

impl std::error::Error for PipelineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PipelineError::Ordering(e) | PipelineError::Thread(e) => Some(e),
            PipelineError::Sink(_) => None,
        }
    }
}
