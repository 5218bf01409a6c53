//! Profiling aid: how long flattening the JSON rendering of EVTX records takes.
//!
//! `cargo run --release -p dwell-ingest --example flatten -- FILE_OR_FOLDER [ROUNDS]`
//! renders every record once, then flattens all of them ROUNDS times (default 5) and prints
//! the time per record. Run it under `valgrind --tool=callgrind` for instruction counts.

use dwell_core::{Event, Gate};
use dwell_ingest::{FileSource, Gather, Registry, Source, discover, json};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("a file or folder");
    let rounds: usize = args.next().map_or(5, |r| r.parse().expect("a number"));
    let (found, _) = discover(&[path.into()]);
    let mut feed = Gather::default();
    FileSource::new(found, Registry::builtin()).run(&mut feed);
    for p in &feed.problems {
        eprintln!("{p}");
    }
    for (_, e) in &feed.failures {
        eprintln!("{e}");
    }
    let mut records: Vec<Vec<u8>> = Vec::new();
    let mut decoder = dwell_ingest::Decoder::default();
    for b in &feed.batches {
        decoder.decode_gated(
            b,
            None,
            &mut |_, _| Gate::All,
            &mut |_, raw| records.push(raw.to_vec()),
            &mut |_| {},
        );
    }
    let bytes: usize = records.iter().map(Vec::len).sum();
    let mut ev = Event::default();
    let mut sc = json::Scratch::default();
    let mut fields = 0usize;
    let start = std::time::Instant::now();
    let serde = std::env::var("SERDE").is_ok();
    for _ in 0..rounds {
        for r in &records {
            if serde {
                let v: serde_json::Value = serde_json::from_slice(r).unwrap();
                fields += v.as_object().map_or(0, |o| o.len());
                continue;
            }
            ev.clear();
            json::flatten(r, &mut ev, &mut sc).expect("valid rendering");
            fields += ev.fields.len();
        }
    }
    let n = (records.len() * rounds).max(1);
    let el = start.elapsed();
    println!(
        "{} records, {} bytes each, {} fields each: {:.0} ns per record",
        records.len(),
        bytes / records.len().max(1),
        fields / n,
        el.as_nanos() as f64 / n as f64
    );
}
