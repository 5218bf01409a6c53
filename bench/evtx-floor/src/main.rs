//! The parse-only floor: the `evtx` crate rendering every record of every EVTX file under the
//! given folders as JSON text, in one process on one thread. Prints records, bytes and seconds.
//!
//! `--per-record` uses the public per-record API (`records_json_bytes`); the default is the
//! crate's fastest path, whole chunks rendered into one buffer (`chunks_json_bytes`, the one
//! `evtx_dump` uses), so the floor is as high as the crate can make it.

use evtx::{EvtxParser, ParserSettings};
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut per_record = false;
    let mut roots = Vec::new();
    for a in std::env::args().skip(1) {
        if a == "--per-record" {
            per_record = true;
        } else {
            roots.push(PathBuf::from(a));
        }
    }
    let mut files = Vec::new();
    while let Some(p) = roots.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).expect("readable folder").flatten() {
                roots.push(e.path());
            }
        } else if p.extension().is_some_and(|x| x == "evtx") {
            files.push(p);
        }
    }
    files.sort();
    let start = Instant::now();
    let (mut records, mut bytes) = (0u64, 0u64);
    for f in &files {
        let Ok(parser) = EvtxParser::from_path(f) else {
            continue;
        };
        let mut parser = parser.with_configuration(ParserSettings::new().num_threads(1));
        if per_record {
            for r in parser.records_json_bytes().flatten() {
                records += 1;
                bytes += r.data.len() as u64;
            }
        } else {
            for chunk in parser.chunks_json_bytes(false) {
                for (_, r) in chunk.records() {
                    records += 1;
                    bytes += r.len() as u64;
                }
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("records={records} json_bytes={bytes} seconds={secs:.3}");
}
