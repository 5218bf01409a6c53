//! The campaign model held to the simulator's ground truth, on data it was not tuned on: three
//! seeds of the estate at the default scale (twelve weeks, ~400,000 records, every look-alike),
//! hunted with every SigmaHQ rule and the built-in ones, whole and Windows-only. What is
//! expected is read from `truth.json` and the records themselves, never written here: exactly
//! one campaign, every compromised host and account in it, no look-alike and at most two
//! innocent accounts, the first malicious event to the line, the dwell time to impact to the
//! second.

mod common;

use common::{dwell, p, shared, stderr, stdout, write_rule};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ms(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

/// The person an account names: its user part, lower case.
fn person(a: &str) -> String {
    let a = a.rsplit('\\').next().unwrap_or(a);
    a.split('@').next().unwrap_or(a).to_lowercase()
}

/// A place as the truth writes it: the path under the estate and the 1-based line.
fn place(source: &str, record: u64, estate: &Path) -> (String, u64) {
    let rel = Path::new(source)
        .strip_prefix(estate)
        .map(|r| r.display().to_string())
        .unwrap_or_else(|_| source.to_string());
    (rel, record)
}

/// Investigates `paths` under `estate` with every SigmaHQ rule and the built-in ones.
fn investigate(estate: &Path, sigma: &Path, paths: &[&str], extra: &[String]) -> Value {
    let mut args: Vec<String> = [
        "investigate",
        "--rules",
        p(sigma),
        "--with-builtin",
        "--format",
        "json",
        "--no-progress",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().cloned());
    args.extend(paths.iter().map(|x| p(&estate.join(x)).to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = dwell(&argv);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).expect("one JSON document")
}

/// What the truth says a view of the estate (the files under `under`) must show.
struct Expected {
    first: (String, u64, i64),
    impact: Option<i64>,
    hosts: BTreeSet<String>,
    people: Vec<BTreeSet<String>>,
    identities: BTreeSet<String>,
    decoys: BTreeSet<(String, u64)>,
}

fn expected(estate: &Path, truth: &Value, under: &str) -> Expected {
    let seen = |file: &str| file.starts_with(under);
    let mut malicious: Vec<&Value> = truth["malicious_records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| seen(m["file"].as_str().unwrap()))
        .collect();
    malicious.sort_by_key(|m| (ms(m["time"].as_str().unwrap()), m["line"].as_u64()));
    let f = malicious[0];
    let first = (
        f["file"].as_str().unwrap().to_string(),
        f["line"].as_u64().unwrap(),
        ms(f["time"].as_str().unwrap()),
    );
    // The impact only if the view holds the record of it (the encryptor's shell line).
    let impact = truth["impact"].as_str().map(ms).filter(|t| {
        malicious
            .iter()
            .any(|m| ms(m["time"].as_str().unwrap()) == *t)
    });
    // The text of the malicious records in view: which hosts and people they show.
    let text: String = malicious
        .iter()
        .map(|m| {
            let file = std::fs::read_to_string(estate.join(m["file"].as_str().unwrap())).unwrap();
            let line = file
                .lines()
                .nth(m["line"].as_u64().unwrap() as usize - 1)
                .unwrap()
                .to_lowercase();
            line + "\n"
        })
        .collect();
    let hosts = truth["compromised_hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["host"].as_str().unwrap().to_string())
        .filter(|h| {
            // A host is in view when its own logs are, or a record in view names it.
            malicious.iter().any(|m| {
                m["file"]
                    .as_str()
                    .unwrap()
                    .to_lowercase()
                    .contains(&h.to_lowercase())
            })
        })
        .collect();
    let mut people = Vec::new();
    let mut identities = BTreeSet::new();
    for who in truth["compromised_people"].as_array().unwrap() {
        let names: BTreeSet<String> = who["identities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| person(i.as_str().unwrap()))
            .collect();
        identities.extend(names.iter().cloned());
        if names.iter().any(|n| names_word(&text, n)) {
            people.push(names);
        }
    }
    let decoys = truth["decoys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    Expected {
        first,
        impact,
        hosts,
        people,
        identities,
        decoys,
    }
}

/// Whether `text` has `word` with no name character either side (`root` is not in `rootkit`).
fn names_word(text: &str, word: &str) -> bool {
    let name = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '$');
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(name) && !after.is_some_and(name)
    })
}

fn check(report: &Value, estate: &Path, want: &Expected, what: &str) {
    let incidents = report["incidents"].as_array().unwrap();
    let campaigns: Vec<&Value> = incidents.iter().filter(|i| i["campaign"] == true).collect();
    assert_eq!(campaigns.len(), 1, "{what}: exactly one campaign");
    let c = campaigns[0];
    // The first malicious event, to the line.
    let first = place(
        c["first"]["source"].as_str().unwrap(),
        c["first"]["record"].as_u64().unwrap(),
        estate,
    );
    assert_eq!(
        (first.0.as_str(), first.1),
        (want.first.0.as_str(), want.first.1),
        "{what}: first malicious event"
    );
    assert_eq!(
        ms(c["first"]["time"].as_str().unwrap()),
        want.first.2,
        "{what}"
    );
    // Dwell time to impact, to the second.
    match want.impact {
        Some(t) => {
            assert_eq!(
                ms(c["impact"]["time"].as_str().unwrap()),
                t,
                "{what}: impact"
            );
            assert_eq!(
                c["dwell_to_impact_seconds"].as_i64().unwrap(),
                (t - want.first.2) / 1000,
                "{what}: dwell time to impact"
            );
        }
        None => assert!(c["impact"].is_null(), "{what}: no impact in view"),
    }
    // Every compromised host and account.
    let compromised = |kind: &str| -> BTreeSet<String> {
        c["compromised"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["kind"] == kind)
            .map(|x| x["name"].as_str().unwrap().to_string())
            .collect()
    };
    let hosts = compromised("host");
    for h in &want.hosts {
        assert!(hosts.contains(h), "{what}: host {h} not in {hosts:?}");
    }
    let accounts: BTreeSet<String> = compromised("account").iter().map(|a| person(a)).collect();
    for names in &want.people {
        assert!(
            names.iter().any(|n| accounts.contains(n)),
            "{what}: none of {names:?} in {accounts:?}"
        );
    }
    // No look-alike, at most two innocent accounts among all the campaign names.
    for d in c["detections"].as_array().unwrap() {
        let at = place(
            d["source"].as_str().unwrap(),
            d["record"].as_u64().unwrap(),
            estate,
        );
        assert!(
            !want.decoys.contains(&at),
            "{what}: look-alike {at:?} ({}) in the campaign",
            d["rule_title"]
        );
    }
    let innocent: Vec<String> = c["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| person(a["name"].as_str().unwrap()))
        .filter(|a| !want.identities.contains(a))
        .collect();
    assert!(
        innocent.len() <= 2,
        "{what}: innocent accounts {innocent:?}"
    );
    // Nothing is lost: every detection is in an incident or set aside with a reason.
    let held: u64 = incidents
        .iter()
        .map(|i| i["detections"].as_array().unwrap().len() as u64)
        .sum();
    let aside: u64 = report["set_aside"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["detections"].as_u64().unwrap())
        .sum();
    assert_eq!(
        held + aside + report["undated_detections"].as_u64().unwrap(),
        report["detections"].as_u64().unwrap(),
        "{what}"
    );
}

#[test]
fn one_campaign_per_intrusion_on_three_estates_whole_and_windows_only() {
    let Some(shared) = shared() else { return };
    let sigma = shared.join("data/sigma/rules");
    let t = tempfile::tempdir().unwrap();
    for seed in ["default", "2", "3"] {
        let estate = t.path().join(format!("estate-{seed}"));
        let mut args = vec!["simulate", "--out", p(&estate)];
        if seed != "default" {
            args.extend(["--seed", seed]);
        }
        let o = dwell(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let truth = read_json(&estate.join("truth.json"));
        let hosts = [
            format!("--host=ESX01={}", p(&estate.join("logs/esx01"))),
            format!("--host=DB01={}", p(&estate.join("logs/db01"))),
        ];
        let whole = investigate(&estate, &sigma, &["logs"], &hosts);
        check(
            &whole,
            &estate,
            &expected(&estate, &truth, "logs/"),
            &format!("seed {seed}"),
        );
        // The sanctioned IFM backup and patch window cite their change tickets.
        let tickets: Vec<&str> = whole["sanctioned"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["ticket"].as_str().unwrap())
            .collect();
        assert_eq!(tickets, ["CHG0012001", "CHG0012044"], "seed {seed}");
        let windows = investigate(&estate, &sigma, &["logs/windows"], &[]);
        check(
            &windows,
            &estate,
            &expected(&estate, &truth, "logs/windows/"),
            &format!("seed {seed}, Windows only"),
        );
    }
}

/// A rule on Sysmon process creation matching `word` in the command line.
fn word_rule(dir: &Path, n: u32, word: &str, level: &str, tags: &str) -> String {
    let text = format!(
        "title: {word}\nid: 66666666-0000-0000-0000-{n:012}\nlevel: {level}\ntags: [{tags}]\n\
         logsource: {{product: windows, category: process_creation}}\n\
         detection: {{sel: {{CommandLine|contains: {word}}}, condition: sel}}\n"
    );
    p(&write_rule(dir, &format!("{word}.yml"), &text)).to_string()
}

fn sysmon(host: &str, user: &str, time: &str, cmd: &str) -> String {
    serde_json::json!({
        "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Computer": host,
        "User": user, "CommandLine": cmd, "Image": "C:\\Windows\\System32\\cmd.exe",
        "UtcTime": time,
    })
    .to_string()
        + "\n"
}

#[test]
fn the_identity_map_joins_what_the_logs_cannot_and_bad_options_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let rules = [
        word_rule(d, 1, "stager", "high", "attack.execution"),
        word_rule(d, 2, "dumper", "high", "attack.credential-access"),
        word_rule(d, 3, "beacon", "medium", "attack.command-and-control"),
    ];
    // Day one, WS01: a campaign by CORP\\rhughes. Three weeks later, FS01: the same person
    // under her other login, far beyond the gap.
    let logs = d.join("e.jsonl");
    std::fs::write(
        &logs,
        [
            sysmon("WS01", "CORP\\rhughes", "2026-03-02 09:00:00", "stager x"),
            sysmon("WS01", "CORP\\rhughes", "2026-03-02 09:10:00", "dumper y"),
            sysmon("FS01", "CORP\\r.hughes", "2026-03-23 22:00:00", "beacon z"),
        ]
        .concat(),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["investigate", "--format", "json", "--no-progress"];
        for r in &rules {
            args.extend(["--rules", r.as_str()]);
        }
        args.extend_from_slice(extra);
        args.push(p(&logs));
        dwell(&args)
    };
    let json = |o: &std::process::Output| -> Value {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
        serde_json::from_str(&stdout(o)).unwrap()
    };
    let alone = json(&run(&[]));
    let hosts = |r: &Value| -> Vec<Vec<String>> {
        r["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                i["hosts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .collect()
    };
    assert_eq!(
        hosts(&alone),
        [vec!["WS01"], vec!["FS01"]],
        "two names, two people"
    );
    let map = d.join("people.csv");
    std::fs::write(
        &map,
        "identity,person\nCORP\\rhughes,Rebecca Hughes\nCORP\\r.hughes,Rebecca Hughes\n",
    )
    .unwrap();
    let joined = json(&run(&["--identities", p(&map)]));
    assert_eq!(hosts(&joined), [vec!["WS01", "FS01"]]);
    let alias = &joined["identities"][0];
    assert_eq!(alias["rule"], "identity-map");
    assert_eq!(alias["name"], "CORP\\r.hughes");
    assert_eq!(alias["account"], "CORP\\rhughes");
    // A map that is not one, and a --host that is not HOST=PATH: refused before the run.
    std::fs::write(&map, "identity,person\njust one column\n").unwrap();
    let o = run(&["--identities", p(&map)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
    let o = run(&["--host", "no-equals-sign"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("HOST=PATH"), "{}", stderr(&o));
}
