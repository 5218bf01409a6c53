//! The EVTX path: arbitrary bytes after a valid file header go through chunk reading, record
//! rendering and flattening without panicking; problems are reported, not fatal.
#![no_main]
use dwell_ingest::input::{Decoder, read_evtx_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut batches = Vec::new();
    let mut problems = 0usize;
    let _ = read_evtx_bytes(data.to_vec(), 0, &mut |b| {
        batches.push(b);
        true
    });
    let mut decoder = Decoder::default();
    for mut b in batches {
        decoder.decode(&mut b, &mut |ev| { let _ = ev.to_json_object(); }, &mut |_| problems += 1);
    }
});
