//! `dwell rules check`, and rules that must be rejected without hurting the others.

mod common;
use common::*;

const GOOD: &str = "title: Good\nid: 11111111-0000-0000-0000-000000000001\nlogsource: {product: windows, category: process_creation}\ndetection: {sel: {Image|endswith: '\\\\x.exe'}, condition: sel}\n";

#[test]
fn invalid_rules_are_named_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_rule(d, "good.yml", GOOD);
    write_rule(d, "broken_yaml.yml", "title: [unclosed\n");
    write_rule(
        d,
        "unknown_modifier.yml",
        "title: Bad modifier\nid: bad-mod\nlogsource: {product: windows}\ndetection: {sel: {a|sometimes: x}, condition: sel}\n",
    );
    let mut bomb = String::from(
        "title: Bomb\nlogsource: {product: windows}\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..9 {
        bomb.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 10].join(", ")
        ));
    }
    bomb.push_str("detection: {sel: {a: x}, condition: sel}\n");
    write_rule(d, "alias_bomb.yml", &bomb);
    write_rule(
        d,
        "huge_regex.yml",
        "title: Huge regex\nid: huge-re\nlogsource: {product: windows}\ndetection: {sel: {a|re: '(\\w{1,1000}){1,1000}'}, condition: sel}\n",
    );
    write_rule(
        d,
        "bad_condition.yml",
        "title: Bad condition\nlogsource: {product: windows}\ndetection: {sel: {a: 1}, condition: sel and nothere}\n",
    );
    let o = dwell(&["rules", "check", p(d)]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    for (file, why) in [
        ("broken_yaml.yml", "invalid YAML"),
        ("unknown_modifier.yml", "unknown modifier 'sometimes'"),
        ("alias_bomb.yml", "alias bomb"),
        ("huge_regex.yml", "regular expression"),
        ("bad_condition.yml", "nothere"),
    ] {
        let line = out
            .lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("{file} not reported:\n{out}"));
        assert!(line.contains(why), "{line}");
    }
    assert!(out.contains("rule bad-mod (Bad modifier)"));
    assert!(stderr(&o).contains("1 detection rule(s)"), "{}", stderr(&o));

    // The good rule still runs in a hunt alongside the bad ones.
    let logs = d.join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(
        logs.join("e.jsonl"),
        r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\x.exe","UtcTime":"2024-01-01 00:00:00"}"#,
    )
    .unwrap();
    let o = dwell(&["hunt", "--rules", p(d), p(&logs), "--format", "jsonl"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(jsonl(&stdout(&o)).len(), 1);
    assert!(stderr(&o).contains("rule not loaded"));
}

#[test]
fn valid_rules_pass() {
    let dir = tempfile::tempdir().unwrap();
    write_rule(dir.path(), "good.yml", GOOD);
    let o = dwell(&["rules", "check", p(dir.path())]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = dwell(&["rules", "check", p(&dir.path().join("none"))]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn every_sigmahq_rule_loads_except_unconfigured_placeholders() {
    let Some(shared) = shared() else { return };
    let o = dwell(&["rules", "check", p(&shared.join("data/sigma"))]);
    let out = stdout(&o);
    let problems: Vec<&str> = out
        .lines()
        .filter(|l| !l.contains("warning:") && !l.contains("unresolved placeholder"))
        .collect();
    assert!(
        problems.is_empty(),
        "rules that do not load:\n{}",
        problems.join("\n")
    );
    let placeholders = out
        .lines()
        .filter(|l| l.contains("unresolved placeholder"))
        .count();
    assert!(placeholders > 0 && placeholders < 40, "{placeholders}");
    eprintln!("{}", stderr(&o));
}

#[test]
fn placeholders_can_be_configured() {
    let dir = tempfile::tempdir().unwrap();
    let rule = write_rule(
        dir.path(),
        "ph.yml",
        "title: Admin logon\nlogsource: {product: windows, category: process_creation}\ndetection: {sel: {User|expand: '%Admins%'}, condition: sel}\n",
    );
    // Without a value the rule loads, with a warning: the placeholder matches nothing. A
    // warning alone does not fail the check.
    let o = dwell(&["rules", "check", p(&rule)]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("%Admins%"));
    assert!(stdout(&o).contains("warning: unresolved placeholder"));
    let o = dwell(&[
        "rules",
        "check",
        p(&rule),
        "--placeholder",
        "Admins=CORP\\alice",
        "--placeholder",
        "Admins=CORP\\bob",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let file = dir.path().join("ph-values.yml");
    std::fs::write(&file, "Admins: [alice, bob]\n").unwrap();
    let o = dwell(&["rules", "check", p(&rule), "--placeholders", p(&file)]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn correlations_run_in_a_hunt() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_rule(
        d,
        "base.yml",
        "title: Evil process\nid: 11111111-0000-0000-0000-000000000002\nname: evil_process\nlevel: low\nlogsource: {product: windows, category: process_creation}\ndetection: {sel: {Image|endswith: '\\\\evil.exe'}, condition: sel}\n",
    );
    write_rule(
        d,
        "corr.yml",
        "title: Many evil processes\nid: 22222222-0000-0000-0000-000000000002\nlevel: high\ncorrelation:\n  type: event_count\n  rules: [evil_process]\n  group-by: [Computer]\n  timespan: 5m\n  condition: {gte: 3}\n",
    );
    let o = dwell(&["rules", "check", p(d)]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stderr(&o).contains("1 correlation(s)"), "{}", stderr(&o));
    let logs = d.join("logs");
    std::fs::create_dir(&logs).unwrap();
    let line = |host: &str, t: &str| {
        format!(
            r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Computer":"{host}","Image":"C:\\evil.exe","UtcTime":"2024-01-01 00:0{t}"}}"#
        )
    };
    let text = [
        line("h1", "0:00"),
        line("h2", "0:30"),
        line("h1", "1:00"),
        line("h1", "2:00"),
        line("h1", "9:00"),
    ]
    .join("\n");
    std::fs::write(logs.join("e.jsonl"), text).unwrap();
    let cov = d.join("cov.json");
    let o = hunt_with_coverage(d, &logs, &cov);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dets = jsonl(&stdout(&o));
    // The base rule is only an input (generate is false): one correlation detection.
    assert_eq!(dets.len(), 1, "{dets:?}");
    let c = &dets[0];
    assert_eq!(c["rule_title"], "Many evil processes");
    assert_eq!(c["level"], "high");
    assert_eq!(c["computer"], "h1");
    assert_eq!(c["timestamp"], "2024-01-01T00:02:00.000000Z");
    assert_eq!(c["correlation"]["type"], "event_count");
    assert_eq!(c["correlation"]["group_by"]["Computer"], "h1");
    assert_eq!(c["correlation"]["value"], 3);
    assert_eq!(
        c["correlation"]["window"]["end"],
        "2024-01-01T00:02:00.000000Z"
    );
    let members = c["correlation"]["members"].as_array().unwrap();
    assert_eq!(members.len(), 3);
    assert_eq!(members[0]["rule_title"], "Evil process");
    assert_eq!(members[0]["record_id"], 1);
    assert_eq!(members[2]["record_id"], 4);
    let cv: serde_json::Value = read_json(&cov);
    let corr = cv["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["title"] == "Many evil processes")
        .unwrap();
    assert_eq!(corr["state"], "run");
    assert_eq!(corr["fired"], 1);
    assert_eq!(corr["events_checked"], 5);
    // With generate: true the base rule's own detections are reported too, and --min-level
    // keeps a correlation's inputs even when it leaves the rule itself out.
    write_rule(
        d,
        "corr.yml",
        "title: Many evil processes\nid: 22222222-0000-0000-0000-000000000002\nlevel: high\ngenerate: true\ncorrelation:\n  type: event_count\n  rules: [evil_process]\n  group-by: [Computer]\n  timespan: 5m\n  condition: {gte: 3}\n",
    );
    let o = dwell(&["hunt", "--rules", p(d), p(&logs), "--format", "jsonl"]);
    assert_eq!(jsonl(&stdout(&o)).len(), 6);
    let o = dwell(&[
        "hunt",
        "--rules",
        p(d),
        p(&logs),
        "--format",
        "jsonl",
        "--min-level",
        "high",
    ]);
    let dets = jsonl(&stdout(&o));
    assert_eq!(dets.len(), 1, "{dets:?}");
    assert_eq!(dets[0]["rule_title"], "Many evil processes");
    // A correlation naming a rule that does not exist is invalid.
    write_rule(
        d,
        "bad_corr.yml",
        "title: Broken\ncorrelation: {type: event_count, rules: [nothing_here], group-by: [x], timespan: 5m, condition: {gte: 3}}\n",
    );
    let o = dwell(&["rules", "check", p(d)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("nothing_here"));
}

#[test]
fn a_rule_id_in_two_files_is_reported_with_both_and_correlations_bind_to_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rule = |title: &str, image: &str| {
        format!(
            "title: {title}\nid: 33333333-0000-0000-0000-000000000001\nname: dup\nlevel: low\nlogsource: {{product: windows, category: process_creation}}\ndetection: {{sel: {{Image|endswith: '{image}'}}, condition: sel}}\n"
        )
    };
    write_rule(d, "a_first.yml", &rule("First", "\\\\a.exe"));
    write_rule(d, "b_second.yml", &rule("Second", "\\\\b.exe"));
    write_rule(
        d,
        "c_corr.yml",
        "title: Twice\nid: 33333333-0000-0000-0000-000000000002\ncorrelation: {type: event_count, rules: [dup], group-by: [Computer], timespan: 5m, condition: {gte: 2}}\n",
    );
    let o = dwell(&["rules", "check", p(d)]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let line = stdout(&o)
        .lines()
        .find(|l| l.contains("duplicate id"))
        .unwrap_or_else(|| panic!("{}", stdout(&o)))
        .to_string();
    assert!(
        line.contains("b_second.yml") && line.contains("a_first.yml"),
        "{line}"
    );
    let logs = d.join("logs");
    std::fs::create_dir(&logs).unwrap();
    let ev = |image: &str, s: u32| {
        format!(
            r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Computer":"h1","Image":"C:\\{image}","UtcTime":"2024-01-01 00:00:0{s}"}}"#
        )
    };
    std::fs::write(
        logs.join("e.jsonl"),
        [ev("a.exe", 1), ev("b.exe", 2), ev("a.exe", 3)].join("\n"),
    )
    .unwrap();
    let o = dwell(&["hunt", "--rules", p(d), p(&logs), "--format", "jsonl"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("rule not loaded")
            && err.contains("b_second.yml")
            && err.contains("a_first.yml"),
        "{err}"
    );
    // Only the first rule runs, and the correlation counts its two detections, not b.exe.
    let dets = jsonl(&stdout(&o));
    let titles: Vec<&str> = dets
        .iter()
        .map(|d| d["rule_title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Twice"], "{dets:?}");
    assert_eq!(dets[0]["correlation"]["value"], 2);
}

#[test]
fn unresolved_placeholders_match_nothing_and_coverage_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rule = write_rule(
        d,
        "ph.yml",
        "title: Certificate request to an unknown DC\nid: 44444444-0000-0000-0000-000000000001\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {CommandLine|contains: 'cdc:'}\n  filter_known: {CommandLine|contains|expand: '%known_cdcs%'}\n  condition: sel and not filter_known\n",
    );
    let needs = write_rule(
        d,
        "needs.yml",
        "title: Needs the placeholder\nid: 44444444-0000-0000-0000-000000000002\nlogsource: {product: windows, category: process_creation}\ndetection: {sel: {CommandLine|contains|expand: '%known_cdcs%'}, condition: sel}\n",
    );
    let logs = d.join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(
        logs.join("e.jsonl"),
        r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Computer":"h1","CommandLine":"certreq cdc:dc01","UtcTime":"2024-01-01 00:00:00"}"#,
    )
    .unwrap();
    let cov = d.join("cov.json");
    let o = dwell(&[
        "hunt",
        "--rules",
        p(&rule),
        "--rules",
        p(&needs),
        p(&logs),
        "--format",
        "jsonl",
        "--coverage",
        p(&cov),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("2 rule(s) use expand placeholders without a value"),
        "{}",
        stderr(&o)
    );
    // The filter excludes nothing; the selection that needs the placeholder cannot fire.
    let titles: Vec<String> = jsonl(&stdout(&o))
        .iter()
        .map(|d| d["rule_title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(titles, ["Certificate request to an unknown DC"]);
    let c: serde_json::Value = read_json(&cov);
    for r in c["rules"].as_array().unwrap() {
        assert_eq!(r["state"], "run");
        let w = r["warnings"][0].as_str().unwrap();
        assert!(
            w.contains("%known_cdcs%") && w.contains("matches nothing"),
            "{w}"
        );
    }
    // With a value the filter works again.
    let o = dwell(&[
        "hunt",
        "--rules",
        p(&rule),
        p(&logs),
        "--format",
        "jsonl",
        "--placeholder",
        "known_cdcs=dc01",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(jsonl(&stdout(&o)).is_empty());
}

#[test]
fn messages_quote_rule_text_clipped() {
    let dir = tempfile::tempdir().unwrap();
    let cond = (0..40_000)
        .map(|i| format!("sel{i}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let rule = write_rule(
        dir.path(),
        "big.yml",
        &format!(
            "title: Big condition\nlogsource: {{product: windows}}\ndetection:\n  sel0: {{a: 1}}\n  condition: {cond}\n"
        ),
    );
    assert!(cond.len() > 400_000);
    let o = dwell(&["rules", "check", p(&rule)]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("sel1"), "{out}");
    assert!(out.contains("more characters"), "{out}");
    assert!(out.len() < 2_000, "{} bytes echoed", out.len());
}

#[test]
fn rules_too_costly_for_the_prefilter_are_flagged_with_their_cost() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let list = |f: &dyn Fn(usize) -> String| {
        (0..3000)
            .map(|i| format!("      - '{}'\n", f(i)))
            .collect::<String>()
    };
    let letters = |i: usize| {
        (
            (b'a' + (i % 26) as u8) as char,
            (b'a' + (i / 26 % 26) as u8) as char,
        )
    };
    let short = write_rule(
        d,
        "short.yml",
        &format!(
            "title: Short wildcards\nid: 66666666-0000-0000-0000-000000000001\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n  sel:\n    CommandLine:\n{}  condition: sel\n",
            list(&|i| {
                let (a, b) = letters(i);
                format!("*{a}*{b}q*")
            })
        ),
    );
    let literal = write_rule(
        d,
        "literal.yml",
        &format!(
            "title: Long literals\nid: 66666666-0000-0000-0000-000000000002\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n  sel:\n    CommandLine|contains:\n{}  condition: sel\n",
            list(&|i| format!("zq{i:05}tool"))
        ),
    );
    let o = dwell(&["rules", "check", p(&short), p(&literal)]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.contains("costly"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("short.yml") && line.contains("3000 tests"),
        "{line}"
    );
    assert!(line.contains("per evaluation"), "{line}");
    assert_eq!(
        out.lines().filter(|l| l.contains("costly")).count(),
        1,
        "{out}"
    );
}
