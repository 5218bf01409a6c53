//! Framing and JSON flattening: every framer must account for every byte and hand out pieces
//! inside the buffer, and flattening any piece (or the whole input) must never panic.
#![no_main]
use dwell_core::Event;
use dwell_ingest::framing::{Framer, JsonFramer, LineFramer, OctetFramer};
use dwell_ingest::json::{Scratch, flatten};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let framers: [Box<dyn Framer>; 3] = [
        Box::new(JsonFramer::default()),
        Box::new(LineFramer::default()),
        Box::new(OctetFramer::default()),
    ];
    let mut ev = Event::default();
    let mut sc = Scratch::default();
    for mut framer in framers {
        let mut pieces = Vec::new();
        let consumed = framer.split(data, true, &mut pieces);
        assert_eq!(consumed, data.len());
        for p in pieces {
            assert!(p.start <= p.end && p.end <= data.len());
            ev.clear();
            let _ = flatten(&data[p.start..p.end], &mut ev, &mut sc);
            let _ = ev.to_record().to_json();
        }
    }
    ev.clear();
    let _ = flatten(data, &mut ev, &mut sc);
});
