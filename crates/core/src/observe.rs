//! Observers: code that reads events as the pipeline decodes them, beside the rules, without
//! the pipeline knowing what they look for (the investigation's logon reader is one).

use crate::event::Event;

/// Where an event is: the run's input index and the record (or line) within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// Index into the run's input table.
    pub input: u32,
    /// The record number, or the line for text inputs.
    pub record: u64,
}

/// Something that reads events as they are decoded. Each worker thread gets its own [`Tap`],
/// so observing needs no lock per event.
pub trait Observer: Sync {
    /// A fresh tap for one worker thread.
    fn tap(&self) -> Box<dyn Tap + '_>;
}

/// One worker thread's view of an [`Observer`].
pub trait Tap: Send {
    /// Whether this event must be parsed in full for the observer. Asked once its header is
    /// known (stream, code, host), before the rest is parsed.
    fn wants(&self, ev: &Event) -> bool;
    /// Reads one event, fully parsed, that [`Tap::wants`] asked for.
    fn event(&mut self, ev: &Event, at: Place);
    /// The worker is done: hand what was gathered to the observer.
    fn finish(self: Box<Self>);
}
