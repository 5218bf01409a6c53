fn main() {
    let paths: Vec<std::path::PathBuf> = std::env::args().skip(1).map(Into::into).collect();
    let t = std::time::Instant::now();
    let set = dwell_sigma::load_paths(&paths, &Default::default());
    eprintln!("{} files, {} rules, {} corr, {} filters, {} errors in {:?}", set.files, set.rules.len(), set.correlations.len(), set.filters.len(), set.errors.len(), t.elapsed());
    for e in &set.errors { println!("{e}"); }
    let w: usize = set.rules.iter().map(|r| r.warnings.len()).sum();
    eprintln!("warnings: {w}");
    for r in &set.rules { for w in &r.warnings { println!("WARN {}: {w}", r.origin.path); } }
}
