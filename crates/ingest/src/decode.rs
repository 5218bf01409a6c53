//! Decoding batches into events on a worker thread, reusing its buffers.

use crate::batch::Batch;
use crate::formats::{Hooks, RecordCx};
use crate::json::Scratch;
use dwell_core::{Event, Gate, Problem, Resolver};

/// One worker thread's decoding state.
#[derive(Default)]
pub struct Decoder {
    ev: Event,
    scratch: Scratch,
}

impl Decoder {
    /// Also record each value's full dotted path (when rules name fields by path).
    pub fn keep_paths(&mut self, keep: bool) {
        self.scratch.keep_paths = keep;
    }

    /// Calls `on_event` for every record of the batch, in order, and `on_problem` for every
    /// record that cannot be decoded (and every unusable time).
    pub fn decode(
        &mut self,
        batch: &Batch,
        on_event: &mut dyn FnMut(&Event),
        on_problem: &mut dyn FnMut(Problem),
    ) {
        self.decode_gated(
            batch,
            None,
            &mut |_, _| Gate::All,
            &mut |ev, _| on_event(ev),
            on_problem,
        )
    }

    /// Like [`Decoder::decode`], resolving field names with `resolver` and asking `gate`,
    /// once a record's header is known, how much of the rest to keep. `on_event` also gets
    /// the record's raw bytes, to decode it again in full when it matters.
    pub fn decode_gated(
        &mut self,
        batch: &Batch,
        resolver: Option<&dyn Resolver>,
        gate: &mut dyn FnMut(&Event, &[u8]) -> Gate,
        on_event: &mut dyn FnMut(&Event, &[u8]),
        on_problem: &mut dyn FnMut(Problem),
    ) {
        self.ev.format = batch.format.name();
        let mut cx = RecordCx {
            json: &mut self.scratch,
            resolver,
            gate,
        };
        let mut hooks = Hooks {
            on_event,
            on_problem,
        };
        batch
            .format
            .decode(&batch.unit, batch.input, &mut self.ev, &mut cx, &mut hooks);
    }
}
