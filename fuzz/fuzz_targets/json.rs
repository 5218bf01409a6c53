//! JSON events: splitting a stream into events and flattening each must never panic, and every
//! byte must be accounted for.
#![no_main]
use dwell_ingest::json::{Scratch, Splitter, flatten};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut pieces = Vec::new();
    let consumed = Splitter::default().split(data, true, &mut pieces);
    assert_eq!(consumed, data.len());
    let mut ev = dwell_ingest::Event::default();
    let mut sc = Scratch::default();
    for p in pieces {
        assert!(p.start <= p.end && p.end <= data.len());
        ev.clear();
        let _ = flatten(&data[p.start..p.end], &mut ev, &mut sc);
        let _ = ev.to_json_object();
    }
    ev.clear();
    let _ = flatten(data, &mut ev, &mut sc);
});
