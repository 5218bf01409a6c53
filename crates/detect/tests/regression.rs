//! SigmaHQ's regression cases: each rule must fire on its own EVTX sample, and on the same
//! events rendered as JSON, with the SigmaHQ rules and dwell's log-source mapping.

use dwell_core::Event;
use dwell_detect::{Engine, Mapping};
use dwell_ingest::{Decoder, FileSource, Gather, Registry, Source, discover};
use dwell_testdata::shared;
use std::collections::HashMap;
use std::path::Path;

/// Counts, per rule id, the events of `file` each rule fires on. With `gated`, events are
/// parsed the way `dwell hunt` parses them: names resolved while parsing, and only the fields
/// rules name kept.
fn hits_per_rule(
    engine: &Engine,
    file: &Path,
    gated: bool,
) -> (HashMap<String, usize>, usize, Vec<String>) {
    let (found, skipped) = discover(&[file.to_path_buf()]);
    assert!(skipped.is_empty(), "{skipped:?}");
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut events = 0;
    let mut feed = Gather::default();
    FileSource::new(found, Registry::builtin()).run(&mut feed);
    if let Some((_, e)) = feed.failures.first() {
        panic!("{}: {e}", file.display());
    }
    let mut problems: Vec<String> = feed.problems.iter().map(|p| format!("{p:?}")).collect();
    let mut decoder = Decoder::default();
    let mut sc = engine.scratch();
    let mut hits = Vec::new();
    for b in &feed.batches {
        let mut on_event = |ev: &Event| {
            events += 1;
            engine.scan(ev, &mut sc, &mut hits);
            for &r in &hits {
                let id = engine.rules[r as usize].id.clone();
                *counts.entry(id).or_default() += 1;
            }
        };
        if gated {
            decoder.decode_gated(
                b,
                Some(engine),
                &mut |ev: &Event, raw: &[u8]| engine.gate(ev, raw),
                &mut |ev: &Event, _raw: &[u8]| on_event(ev),
                &mut |p| problems.push(format!("{p:?}")),
            );
        } else {
            decoder.decode(b, &mut on_event, &mut |p| problems.push(format!("{p:?}")));
        }
    }
    (counts, events, problems)
}

#[test]
fn every_regression_case_fires_on_evtx_and_json() {
    let Some(shared) = shared() else { return };
    let set = dwell_sigma::load_paths(&[shared.join("data/sigma")], &Default::default());
    let (engine, _unmapped) = Engine::new(
        set.rules,
        &Mapping::from_texts(&Registry::builtin().mappings()).unwrap(),
    );
    let mut cases = Vec::new();
    let root = shared.join("data/sigma-regression/regression_data");
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "info.yml") {
                cases.push(p);
            }
        }
    }
    cases.sort();
    assert!(cases.len() >= 100, "only {} cases found", cases.len());
    let mut failures = Vec::new();
    for info in &cases {
        let text = std::fs::read_to_string(info).unwrap();
        let doc = &dwell_sigma::yaml::load_all(&text, Default::default()).unwrap()[0];
        let rule_id = doc
            .get("rule_metadata")
            .and_then(|m| match &m.value {
                dwell_sigma::yaml::Yaml::Seq(s) => s.first().and_then(|x| x.get("id")),
                _ => None,
            })
            .and_then(|n| n.scalar_text())
            .unwrap();
        let want = doc
            .get("regression_tests_info")
            .and_then(|m| match &m.value {
                dwell_sigma::yaml::Yaml::Seq(s) => s.first().and_then(|x| x.get("match_count")),
                _ => None,
            })
            .and_then(|n| n.scalar_text())
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(1);
        let dir = info.parent().unwrap();
        for ext in ["evtx", "json"] {
            let sample = std::fs::read_dir(dir)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|e| e == ext));
            let Some(sample) = sample else {
                failures.push(format!("{}: no .{ext} sample", dir.display()));
                continue;
            };
            let (counts, events, problems) = hits_per_rule(&engine, &sample, false);
            let (gated, _, _) = hits_per_rule(&engine, &sample, true);
            if gated != counts {
                failures.push(format!(
                    "{} ({ext}): trimmed parsing changes what fires: {gated:?} vs {counts:?}",
                    dir.display()
                ));
            }
            let got = counts.get(&rule_id).copied().unwrap_or(0);
            if got < want || !problems.is_empty() {
                failures.push(format!(
                    "{} ({ext}): rule {rule_id} fired {got} times (want >= {want}) over {events} events; problems: {problems:?}",
                    dir.strip_prefix(&shared).unwrap_or(dir).display()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len() * 2,
        failures.join("\n")
    );
}
