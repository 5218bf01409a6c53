use dwell_detect::{Engine, Mapping};
use dwell_ingest::{Decoder, Event, discover, read};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let t0 = std::time::Instant::now();
    let set = dwell_sigma::load_paths(&[args[1].clone().into()], &Default::default());
    let (engine, unmapped) = Engine::new(set.rules, &Mapping::builtin());
    eprintln!("load {:?}, {} unmapped, {} buckets", t0.elapsed(), unmapped.len(), engine.bucket_count());
    let (inputs, _) = discover(&[args[2].clone().into()]);
    let t = std::time::Instant::now();
    let mut decoder = Decoder::default();
    let mut sc = engine.scratch();
    let mut hits = Vec::new();
    let (mut events, mut nhits) = (0u64, 0u64);
    let scan = std::env::var("NOSCAN").is_err();
    for (i, input) in inputs.iter().enumerate() {
        let mut batches = Vec::new();
        let _ = read(input, i as u32, &mut |b| { batches.push(b); true }, &mut |_| {});
        for mut b in batches {
            decoder.decode(&mut b, &mut |ev: &Event| { events += 1; if scan { engine.scan(ev, &mut sc, &mut hits); nhits += hits.len() as u64; } }, &mut |_| {});
        }
    }
    let el = t.elapsed();
    eprintln!("{events} events, {nhits} hits, {} evaluations in {:?}: {:.0} ev/s", sc.evaluations, el, events as f64 / el.as_secs_f64());
}
