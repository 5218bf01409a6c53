//! The EVTX path: arbitrary bytes behind an EVTX signature go through the survey (truncation,
//! zeroed chunks, record gaps), chunk rendering and flattening without panicking; damage is
//! reported as problems, never fatal.
#![no_main]
use dwell_core::Problem;
use dwell_ingest::{Batch, Compression, Decoder, Evtx, Feed, FileSource, Format, Found, ReadError, Registry, Source};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

const MAGIC: &[u8] = b"ElfFile\0";

#[derive(Default)]
struct Collect(Vec<Batch>);

impl Feed for Collect {
    fn opened(&mut self, _: u32, _: &Arc<dyn Format>, _: Compression) {}
    fn batch(&mut self, b: Batch) -> bool {
        self.0.push(b);
        true
    }
    fn problem(&mut self, _: Problem) {}
    fn failed(&mut self, _: u32, _: ReadError) {}
    fn progress(&mut self, _: u64) {}
}

fuzz_target!(|data: &[u8]| {
    // Seeds from real files already carry the signature; anything else is given one, so that
    // every input exercises the EVTX reader rather than recognition.
    let bytes: Vec<u8> = if data.starts_with(MAGIC) {
        data.to_vec()
    } else {
        [MAGIC, data].concat()
    };
    let mut feed = Collect::default();
    FileSource::new(vec![Found::memory("fuzz.evtx", bytes)], Registry::empty().with(Evtx))
        .run(&mut feed);
    let mut decoder = Decoder::default();
    for b in &feed.0 {
        decoder.decode(b, &mut |ev| drop(ev.to_record().to_json()), &mut |_| {});
    }
});
