//! Correlation state under load: N synthetic matches spread over G distinct group-by values,
//! through an `event_count` and a `temporal` correlation, with every group live at once.
//!
//! `cargo run --release -p dwell-detect --example correlate -- [MATCHES] [GROUPS]`
//! (defaults 10,000,000 and 1,000,000). Prints the time per match and the peak RSS.

use dwell_detect::{Correlator, Engine, Mapping, Member, Source};
use dwell_ingest::Registry;
use std::time::Instant;

const RULES: &str = "\
title: A\nname: a\nlogsource: {product: windows, service: security}\ndetection: {s: {EventID: 4625}, condition: s}\n---\n\
title: B\nname: b\nlogsource: {product: windows, service: security}\ndetection: {s: {EventID: 4624}, condition: s}\n---\n\
title: Count\ncorrelation: {type: event_count, rules: [a], group-by: [User], timespan: 1h, condition: {gte: 1000000}}\n---\n\
title: Sequence\ncorrelation: {type: temporal, rules: [a, b], group-by: [User], timespan: 1h}\n";

fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let matches: u64 = args
        .next()
        .map_or(10_000_000, |a| a.parse().expect("a number"));
    let groups: u64 = args
        .next()
        .map_or(1_000_000, |a| a.parse().expect("a number"));
    let (docs, errors) = dwell_sigma::parse_text(RULES, "bench.yml", &Default::default());
    assert!(errors.is_empty(), "{errors:?}");
    let set = dwell_sigma::RuleSet::from_documents(docs);
    let mapping = Mapping::from_texts(&Registry::builtin().mappings()).expect("mapping");
    let (engine, _) = Engine::new(set.rules, &mapping);
    let (mut c, problems) = Correlator::new(&set.correlations, &engine.rules);
    assert!(problems.is_empty(), "{problems:?}");
    let mut out = Vec::new();
    let start = Instant::now();
    let mut user = String::new();
    for i in 0..matches {
        user.clear();
        use std::fmt::Write;
        let _ = write!(user, "user{}", (i * 7919) % groups);
        // All matches within 10 minutes: every group stays live in the 1 h window.
        let time = (i as i64) * 600_000_000_000 / matches as i64;
        let rule = if i % 10 == 0 { 1 } else { 0 };
        let lookup = |_: &str| Some(user.as_str());
        c.push(
            Member {
                source: Source::Rule(rule),
                time,
                input: 0,
                record: i,
            },
            &lookup,
            &mut out,
        );
        out.clear();
    }
    let el = start.elapsed();
    let stats = c.stats();
    println!(
        "{matches} matches, {groups} groups: {:.0} ns per match, {} live groups, peak RSS {} MiB",
        el.as_nanos() as f64 / matches as f64,
        stats.live_groups,
        peak_rss_mib()
    );
}
