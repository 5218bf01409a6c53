//! Sources: what feeds the pipeline batches of records ([`Source`]), what a source reports to
//! while it reads ([`Feed`]), and what the run knows of each input ([`InputInfo`]). Files,
//! folders and standard input are one source ([`crate::FileSource`]); streams will be others.

use crate::batch::Batch;
use crate::error::ReadError;
use crate::formats::Format;
use dwell_core::{InputId, Problem};
use std::sync::Arc;

/// Compression wrapped around an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// None.
    #[default]
    None,
    /// gzip (several members allowed).
    Gzip,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// `gzip`, `zstd`, or empty.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// One input of a run, as the run's input table keeps it.
#[derive(Clone)]
pub struct InputInfo {
    /// Stable across runs and workers (see [`dwell_core::InputId`]).
    pub id: InputId,
    /// How outputs name it.
    pub display: String,
    /// Size on disk, when known.
    pub size: Option<u64>,
    /// Its format, once recognised.
    pub format: Option<Arc<dyn Format>>,
    /// Its compression, once opened.
    pub compression: Compression,
}

impl std::fmt::Debug for InputInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputInfo")
            .field("id", &self.id)
            .field("display", &self.display)
            .field("format", &self.format.as_ref().map(|x| x.name()))
            .finish()
    }
}

/// What a source reports to while it reads.
pub trait Feed {
    /// Input `input` was opened and recognised.
    fn opened(&mut self, input: u32, format: &Arc<dyn Format>, compression: Compression);
    /// A batch of whole records; `false` means stop reading.
    fn batch(&mut self, batch: Batch) -> bool;
    /// A problem inside an input; the rest of it is still read.
    fn problem(&mut self, problem: Problem);
    /// Input `input` could not be read at all.
    fn failed(&mut self, input: u32, error: ReadError);
    /// Bytes of input consumed, for progress.
    fn progress(&mut self, bytes: u64);
}

/// A feed that keeps everything a source reports, in memory: for reading small inputs whole
/// (tests, tools, a program that decodes on its own thread).
#[derive(Default)]
pub struct Gather {
    /// The batches, in order.
    pub batches: Vec<Batch>,
    /// Problems inside inputs.
    pub problems: Vec<Problem>,
    /// Inputs that could not be read at all.
    pub failures: Vec<(u32, ReadError)>,
    /// The format each opened input was recognised as.
    pub formats: Vec<(u32, &'static str)>,
}

impl Feed for Gather {
    fn opened(&mut self, input: u32, format: &Arc<dyn Format>, _: Compression) {
        self.formats.push((input, format.name()));
    }
    fn batch(&mut self, batch: Batch) -> bool {
        self.batches.push(batch);
        true
    }
    fn problem(&mut self, problem: Problem) {
        self.problems.push(problem);
    }
    fn failed(&mut self, input: u32, error: ReadError) {
        self.failures.push((input, error));
    }
    fn progress(&mut self, _: u64) {}
}

/// Something that produces batches: files and folders, later streams and sockets.
pub trait Source: Send {
    /// The inputs this source will read, indexed as batches and problems index them.
    fn inputs(&self) -> Vec<InputInfo>;
    /// Reads everything, reporting to `feed`, until done or until the feed says stop.
    fn run(&mut self, feed: &mut dyn Feed);
}
