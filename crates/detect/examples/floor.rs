// Parse-only timing: evtx rendering JSON per record, single thread.
use evtx::{EvtxParser, ParserSettings};
fn main() {
    let mut files = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(std::env::args().nth(1).unwrap())];
    while let Some(d) = stack.pop() { for e in std::fs::read_dir(&d).unwrap().flatten() { let p = e.path(); if p.is_dir() { stack.push(p) } else if p.extension().is_some_and(|x| x == "evtx") { files.push(p) } } }
    let t = std::time::Instant::now();
    let (mut n, mut bytes) = (0u64, 0u64);
    for f in &files {
        let Ok(p) = EvtxParser::from_path(f) else { continue };
        let mut p = p.with_configuration(ParserSettings::new().num_threads(1));
        if std::env::var("CHUNK").is_ok() {
            for c in p.chunks_json_bytes(false) { for (_, r) in c.records() { n += 1; bytes += r.len() as u64; } }
        } else {
            for r in p.records_json_bytes() { if let Ok(r) = r { n += 1; bytes += r.data.len() as u64; } }
        }
    }
    let el = t.elapsed();
    eprintln!("floor: {n} records, {bytes} json bytes in {el:?}: {:.0} rec/s", n as f64 / el.as_secs_f64());
}
