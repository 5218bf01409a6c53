//! Correlation rules on hand-checked sequences of matches: each type, window edges, late and
//! out-of-order matches, missing group-by fields, aliases, chaining, and bounded state.

use dwell_detect::{Correlator, Engine, Mapping, Member, Source};
use dwell_ingest::Registry;
use std::collections::HashMap;

const S: i64 = 1_000_000_000;

const BASE: &str = "\
title: Failed logon
id: 00000000-0000-0000-0000-00000000000a
name: failed
logsource: {product: windows, service: security}
detection: {sel: {EventID: 4625}, condition: sel}
---
title: Success logon
id: 00000000-0000-0000-0000-00000000000b
name: success
logsource: {product: windows, service: security}
detection: {sel: {EventID: 4624}, condition: sel}
---
title: New service
id: 00000000-0000-0000-0000-00000000000c
name: service
logsource: {product: windows, service: system}
detection: {sel: {EventID: 7045}, condition: sel}
";

/// A correlator over the base rules plus `corrs` (YAML documents).
fn correlator(corrs: &str) -> (Correlator, HashMap<String, u32>) {
    let text = format!("{BASE}---\n{corrs}");
    let (docs, errors) = dwell_sigma::parse_text(&text, "t.yml", &Default::default());
    assert!(errors.is_empty(), "{errors:?}");
    let set = dwell_sigma::RuleSet::from_documents(docs);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let (engine, _) = Engine::new(
        set.rules,
        &Mapping::from_texts(&Registry::builtin().mappings()).unwrap(),
    );
    let names: HashMap<String, u32> = engine
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.clone().unwrap(), i as u32))
        .collect();
    let (c, problems) = Correlator::new(&set.correlations, &engine.rules);
    assert!(problems.is_empty(), "{problems:?}");
    (c, names)
}

/// One match: rule name, second, field values.
type Step<'a> = (&'a str, i64, &'a [(&'a str, &'a str)]);

/// Feeds `(rule name, second, fields)`; returns (firing second, correlation index, value).
fn run(c: &mut Correlator, names: &HashMap<String, u32>, seq: &[Step]) -> Vec<(i64, u32, f64)> {
    let mut out = Vec::new();
    for (i, (rule, sec, fields)) in seq.iter().enumerate() {
        let member = Member {
            source: Source::Rule(names[*rule]),
            time: sec * S,
            input: 0,
            record: i as u64,
        };
        let lookup = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        };
        c.push(member, &lookup, &mut out);
    }
    out.iter()
        .map(|f| (f.end / S, f.correlation, f.value))
        .collect()
}

#[test]
fn event_count_window_edges_and_reset() {
    let (mut c, n) = correlator(
        "title: Brute force\nname: brute\ncorrelation: {type: event_count, rules: [failed], group-by: [User], timespan: 10s, condition: {gte: 3}}\n",
    );
    let a: &[(&str, &str)] = &[("User", "alice")];
    let b: &[(&str, &str)] = &[("User", "bob")];
    let fired = run(
        &mut c,
        &n,
        &[
            ("failed", 0, a),
            ("failed", 1, a),
            ("failed", 1, b),
            ("failed", 2, a),  // third for alice in (−8, 2]: fires
            ("failed", 3, a),  // the group started again: 1
            ("failed", 4, a),  // 2
            ("failed", 20, b), // bob's first match left the window
            ("failed", 21, b),
            ("failed", 30, b), // (20, 30]: 20 is exactly one timespan older: outside; 21 and 30 -> 2
            ("failed", 30, b), // 21, 30, 30 -> fires
        ],
    );
    assert_eq!(fired, vec![(2, 0, 3.0), (30, 0, 3.0)]);
}

#[test]
fn missing_group_by_values_form_their_own_group() {
    let (mut c, n) = correlator(
        "title: Brute force\ncorrelation: {type: event_count, rules: [failed], group-by: [User], timespan: 1m, condition: {gte: 2}}\n",
    );
    let none: &[(&str, &str)] = &[];
    let a: &[(&str, &str)] = &[("User", "alice")];
    let fired = run(
        &mut c,
        &n,
        &[("failed", 0, none), ("failed", 1, a), ("failed", 2, none)],
    );
    assert_eq!(fired, vec![(2, 0, 2.0)]);
}

#[test]
fn value_count_counts_distinct_values() {
    let (mut c, n) = correlator(
        "title: Spray\ncorrelation: {type: value_count, rules: [failed], group-by: [IpAddress], timespan: 1m, condition: {field: TargetUserName, gte: 3}}\n",
    );
    let ev = |u: &'static str| -> &'static [(&'static str, &'static str)] {
        match u {
            "a" => &[("IpAddress", "10.0.0.1"), ("TargetUserName", "a")],
            "b" => &[("IpAddress", "10.0.0.1"), ("TargetUserName", "b")],
            "c" => &[("IpAddress", "10.0.0.1"), ("TargetUserName", "c")],
            _ => &[("IpAddress", "10.0.0.1")],
        }
    };
    let fired = run(
        &mut c,
        &n,
        &[
            ("failed", 0, ev("a")),
            ("failed", 1, ev("a")),
            ("failed", 2, ev("none")), // no value: not counted
            ("failed", 3, ev("b")),
            ("failed", 4, ev("c")),
        ],
    );
    assert_eq!(fired, vec![(4, 0, 3.0)]);
}

#[test]
fn temporal_and_ordered() {
    let (mut c, n) = correlator(
        "title: Logon then service\ncorrelation: {type: temporal, rules: [success, service], group-by: [Computer], timespan: 5m}\n---\n\
         title: Logon then service, in order\ncorrelation: {type: temporal_ordered, rules: [success, service], group-by: [Computer], timespan: 5m}\n",
    );
    let h1: &[(&str, &str)] = &[("Computer", "h1")];
    let h2: &[(&str, &str)] = &[("Computer", "h2")];
    let h3: &[(&str, &str)] = &[("Computer", "h3")];
    let fired = run(
        &mut c,
        &n,
        &[
            ("service", 0, h1),
            ("success", 10, h1), // temporal fires (both seen); ordered does not (service came first)
            ("success", 20, h2),
            ("service", 30, h2), // both fire
            ("success", 40, h3),
            ("service", 40, h3),  // same second: temporal fires, ordered does not
            ("service", 400, h3), // ordered: success at 40 left the window (100, 400]
        ],
    );
    assert_eq!(
        fired,
        vec![(10, 0, 2.0), (30, 0, 2.0), (30, 1, 2.0), (40, 0, 2.0)]
    );
}

#[test]
fn value_sum_avg_and_percentile() {
    let (mut c, n) = correlator(
        "title: Sum\ncorrelation: {type: value_sum, rules: [failed], group-by: [User], timespan: 1m, condition: {field: Bytes, gt: 100}}\n---\n\
         title: Avg\ncorrelation: {type: value_avg, rules: [failed], group-by: [User], timespan: 1m, condition: {field: Bytes, gte: 40, lte: 60}}\n---\n\
         title: P90\ncorrelation: {type: value_percentile, rules: [failed], group-by: [User], timespan: 1m, condition: {field: Bytes, percentile: 90, gte: 95}}\n",
    );
    let v = |b: &'static str| -> &'static [(&'static str, &'static str)] {
        match b {
            "50" => &[("User", "u"), ("Bytes", "50")],
            "60" => &[("User", "u"), ("Bytes", "60")],
            "x" => &[("User", "u"), ("Bytes", "lots")],
            _ => &[("User", "u"), ("Bytes", "100")],
        }
    };
    let fired = run(
        &mut c,
        &n,
        &[
            ("failed", 0, v("50")),
            ("failed", 1, v("x")),
            ("failed", 2, v("60")),
            ("failed", 3, v("100")),
        ],
    );
    // avg fires at 0 (50) and its group starts again; at 1 the non-number is skipped (no
    // numbers: nothing to average); at 2 avg is 60: fires. Sum: 50 + 60 = 110 > 100 at 2: fires
    // (the non-number is skipped); at 3 it has started again: 100, not > 100. p90 of
    // [50, 60, 100] is 92: never fires.
    assert_eq!(fired, vec![(0, 1, 50.0), (2, 0, 110.0), (2, 1, 60.0)]);
}

#[test]
fn aliases_map_group_by_per_rule() {
    let (mut c, n) = correlator(
        "title: Same user fails then succeeds\ncorrelation:\n  type: temporal_ordered\n  rules: [failed, success]\n  group-by: [account]\n  timespan: 1m\n  aliases:\n    account: {failed: TargetUserName, success: SubjectUserName}\n",
    );
    let fired = run(
        &mut c,
        &n,
        &[
            ("failed", 0, &[("TargetUserName", "eve")]),
            ("success", 1, &[("SubjectUserName", "bob")]),
            ("success", 2, &[("SubjectUserName", "eve")]),
        ],
    );
    assert_eq!(fired, vec![(2, 0, 2.0)]);
}

#[test]
fn correlations_of_correlations() {
    let (mut c, n) = correlator(
        "title: Burst\nname: burst\ncorrelation: {type: event_count, rules: [failed], group-by: [User], timespan: 10s, condition: {gte: 2}}\n---\n\
         title: Repeated bursts\ncorrelation: {type: event_count, rules: [burst], group-by: [User], timespan: 1m, condition: {gte: 2}}\n",
    );
    let u: &[(&str, &str)] = &[("User", "u")];
    let fired = run(
        &mut c,
        &n,
        &[
            ("failed", 0, u),
            ("failed", 1, u),
            ("failed", 20, u),
            ("failed", 21, u),
        ],
    );
    assert_eq!(fired, vec![(1, 0, 2.0), (21, 0, 2.0), (21, 1, 2.0)]);
}

#[test]
fn late_and_out_of_order_matches() {
    let (mut c, n) = correlator(
        "title: Brute force\ncorrelation: {type: event_count, rules: [failed], group-by: [User], timespan: 10s, condition: {gte: 3}}\n",
    );
    let a: &[(&str, &str)] = &[("User", "a")];
    // 9 arrives after 12 but is inside (2, 12]: counted. 1 arrives after 12: late, dropped.
    let fired = run(
        &mut c,
        &n,
        &[
            ("failed", 10, a),
            ("failed", 12, a),
            ("failed", 1, a),
            ("failed", 9, a),
        ],
    );
    assert_eq!(fired, vec![(12, 0, 3.0)]);
    assert_eq!(c.stats().late, 1);
}

#[test]
fn generate_false_hides_the_referenced_rules() {
    let (c, n) = correlator(
        "title: A\ncorrelation: {type: event_count, rules: [failed], group-by: [User], timespan: 10s, condition: {gte: 3}}\n---\n\
         title: B\ngenerate: true\ncorrelation: {type: event_count, rules: [service], group-by: [User], timespan: 10s, condition: {gte: 3}}\n",
    );
    assert!(c.hidden(n["failed"]));
    assert!(!c.hidden(n["service"]));
    assert!(!c.hidden(n["success"]));
    assert_eq!(c.needs(n["failed"]), Some(&["User".to_string()][..]));
    assert_eq!(c.needs(n["success"]), None);
}

#[test]
fn state_expires_with_the_timespan() {
    let (mut c, n) = correlator(
        "title: Brute force\ncorrelation: {type: event_count, rules: [failed], group-by: [User], timespan: 10s, condition: {gte: 1000}}\n",
    );
    let rule = n["failed"];
    let mut out = Vec::new();
    // 200,000 distinct users, 100 per second: about 1,000 are live in any 10 s window.
    for i in 0..200_000u64 {
        let user = format!("user{i}");
        let lookup = |_: &str| Some(user.as_str());
        c.push(
            Member {
                source: Source::Rule(rule),
                time: (i as i64) * S / 100,
                input: 0,
                record: i,
            },
            &lookup,
            &mut out,
        );
    }
    assert!(out.is_empty());
    let stats = c.stats();
    assert!(stats.live_groups < 6_000, "{stats:?}");
    assert!(stats.peak_groups < 6_000, "{stats:?}");
}
