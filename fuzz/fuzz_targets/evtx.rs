//! The EVTX path: arbitrary bytes behind an EVTX signature go through the survey (truncation,
//! zeroed chunks, record gaps), chunk rendering and flattening without panicking; damage is
//! reported as problems, never fatal.
#![no_main]
use dwell_ingest::{Decoder, Evtx, FileSource, Found, Gather, Registry, Source};
use libfuzzer_sys::fuzz_target;

const MAGIC: &[u8] = b"ElfFile\0";

fuzz_target!(|data: &[u8]| {
    // Seeds from real files already carry the signature; anything else is given one, so that
    // every input exercises the EVTX reader rather than recognition.
    let bytes: Vec<u8> = if data.starts_with(MAGIC) {
        data.to_vec()
    } else {
        [MAGIC, data].concat()
    };
    let mut feed = Gather::default();
    FileSource::new(vec![Found::memory("fuzz.evtx", bytes)], Registry::empty().with(Evtx::default()))
        .run(&mut feed);
    let mut decoder = Decoder::default();
    for b in &feed.batches {
        decoder.decode(b, &mut |ev| drop(ev.to_record().to_json()), &mut |_| {});
    }
});
