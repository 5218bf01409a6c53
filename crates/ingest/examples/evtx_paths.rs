//! Which way each EVTX record is read: `cargo run --release -p dwell-ingest --example
//! evtx_paths -- FILE_OR_FOLDER...` prints, per file, how many records the direct path read
//! (from their template values) and how many were rendered as JSON by the `evtx` crate.

use dwell_core::Gate;
use dwell_ingest::{Decoder, FileSource, Gather, Registry, Source, discover};

fn main() {
    let paths: Vec<std::path::PathBuf> = std::env::args().skip(1).map(Into::into).collect();
    let (found, _) = discover(&paths);
    let names: Vec<String> = found.iter().map(|f| f.display.clone()).collect();
    let mut feed = Gather::default();
    FileSource::new(found, Registry::builtin()).run(&mut feed);
    let mut counts = vec![(0usize, 0usize); names.len()];
    let mut decoder = Decoder::default();
    for b in &feed.batches {
        let c = &mut counts[b.input as usize];
        decoder.decode_gated(
            b,
            None,
            &mut |_, _| Gate::All,
            // The direct path hands on the record's chunk, the JSON path its rendering.
            &mut |_, raw| {
                if raw.starts_with(b"ElfChnk\0") {
                    c.0 += 1
                } else {
                    c.1 += 1
                }
            },
            &mut |_| {},
        );
    }
    let (mut direct, mut json) = (0, 0);
    for (name, (d, j)) in names.iter().zip(&counts) {
        println!("{d:>8} direct {j:>8} json  {name}");
        direct += d;
        json += j;
    }
    println!("{direct:>8} direct {json:>8} json  in all");
}
