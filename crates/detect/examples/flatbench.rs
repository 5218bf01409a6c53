use evtx::{EvtxParser, ParserSettings};
fn main() {
    let mut recs: Vec<Vec<u8>> = Vec::new();
    for e in std::fs::read_dir(std::env::args().nth(1).unwrap()).unwrap().flatten() {
        let Ok(p) = EvtxParser::from_path(e.path()) else { continue };
        let mut p = p.with_configuration(ParserSettings::new().num_threads(1));
        for r in p.records_json_bytes().flatten() { recs.push(r.data); }
    }
    let bytes: usize = recs.iter().map(|r| r.len()).sum();
    let mut ev = dwell_ingest::Event::default();
    let mut sc = dwell_ingest::json::Scratch::default();
    let mut fields = 0;
    let t = std::time::Instant::now();
    for _ in 0..10 { for r in &recs { ev.clear(); dwell_ingest::json::flatten(r, &mut ev, &mut sc).unwrap(); fields += ev.fields.len(); } }
    let el = t.elapsed();
    let n = recs.len() * 10;
    eprintln!("{n} flattens, {} fields/ev, {} bytes/ev: {:?} per event, {:.0} MB/s", fields / n, bytes / recs.len(), el / n as u32, (bytes * 10) as f64 / el.as_secs_f64() / 1e6);
}
