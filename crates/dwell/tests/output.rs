//! What analysts pivot on, held to the events themselves: record ids are the events' own, the
//! details carry the event's content, Timesketch documents keep one type per field, OCSF
//! findings pass the official OCSF 1.3.0 schema (the ocsf-json-schema package, run by Python),
//! CSV cells cannot run as formulas unless asked, and profiles choose what goes with each
//! detection. The samples are the shared attack samples with every SigmaHQ rule.

mod common;

use common::{dwell, jsonl, p, stderr, stdout, write_rule};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn samples() -> Option<(PathBuf, PathBuf)> {
    let shared = common::shared()?;
    Some((
        shared.join("data/sigma/rules"),
        shared.join("data/evtx/attack-samples"),
    ))
}

fn hunt(rules: &Path, input: &Path, extra: &[&str]) -> String {
    let mut a = vec!["hunt", "--rules", p(rules), "--no-progress"];
    a.extend_from_slice(extra);
    a.push(p(input));
    let o = dwell(&a);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn record_ids_are_the_events_own_and_the_place_is_kept_apart() {
    let Some((rules, samples)) = samples() else {
        return;
    };
    let ds = jsonl(&hunt(&rules, &samples, &["--format", "jsonl"]));
    assert!(ds.len() > 1000);
    let mut differ = 0;
    for d in &ds {
        let own = d["event"]["EventRecordID"].as_u64().or_else(|| {
            d["event"]["EventRecordID"]
                .as_str()
                .and_then(|s| s.parse().ok())
        });
        if let Some(own) = own {
            assert_eq!(d["record_id"], own, "{}", d["alert_id"]);
        }
        assert!(d["record"].is_u64());
        differ += (d["record"] != d["record_id"]) as usize;
    }
    assert!(differ > 0, "the place in the file is not the EventRecordID");
    // The same events as JSON lines, rendered by the evtx crate: their EventRecordID, not the
    // line number.
    let t = tempfile::tempdir().unwrap();
    let file = samples.join("Credential Access/CA_hashdump_4663_4656_lsass_access.evtx");
    let mut text = String::new();
    let mut want = Vec::new();
    for r in evtx::EvtxParser::from_path(&file)
        .unwrap()
        .records_json_value()
        .filter_map(Result::ok)
    {
        // The event's own number, which in this carved file is not its record header's.
        want.push(r.data["Event"]["System"]["EventRecordID"].as_u64().unwrap());
        text += &serde_json::to_string(&r.data).unwrap();
        text.push('\n');
    }
    let json = t.path().join("events.jsonl");
    std::fs::write(&json, text).unwrap();
    let rule = write_rule(
        t.path(),
        "any.yml",
        "title: Any security event\nlogsource: {product: windows, service: security}\ndetection:\n  s: {EventID|gt: 0}\n  condition: s\nlevel: low\n",
    );
    let got: Vec<u64> = jsonl(&hunt(&rule, &json, &["--format", "jsonl"]))
        .iter()
        .map(|d| d["record_id"].as_u64().unwrap())
        .collect();
    assert!(!got.is_empty());
    assert!(
        got.iter().all(|r| want.contains(r)),
        "{got:?} against {want:?}"
    );
}

#[test]
fn details_carry_the_events_content() {
    let Some((rules, samples)) = samples() else {
        return;
    };
    let ds = jsonl(&hunt(&rules, &samples, &["--format", "jsonl"]));
    let clean = |v: &Value| -> String {
        let s = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        s.chars().take(200).collect()
    };
    let (mut processes, mut logons) = (0, 0);
    for d in &ds {
        let details = d["details"].as_str().unwrap();
        assert!(!details.is_empty(), "no details for {}", d["rule_title"]);
        let e = &d["event"];
        let sysmon = d["channel"] == "Microsoft-Windows-Sysmon/Operational";
        if sysmon && d["event_id"] == 1 && e["CommandLine"].is_string() {
            processes += 1;
            assert!(
                details.contains(&clean(&e["CommandLine"])),
                "{details} / {}",
                e["CommandLine"]
            );
            if let Some(parent) = e["ParentCommandLine"].as_str().filter(|s| !s.is_empty()) {
                assert!(details.contains(&clean(&Value::from(parent))), "{details}");
            }
        }
        if d["channel"] == "Security" && d["event_id"] == 4624 {
            logons += 1;
            assert!(
                details.contains(e["TargetUserName"].as_str().unwrap()),
                "{details}"
            );
            assert!(
                details.contains(&format!("Type: {}", clean(&e["LogonType"]))),
                "{details}"
            );
        }
    }
    assert!(processes > 100 && logons > 0, "{processes} {logons}");
}

#[test]
fn timesketch_documents_keep_one_type_per_field_and_no_null_time() {
    let Some((rules, samples)) = samples() else {
        return;
    };
    let mut types: BTreeMap<String, std::collections::BTreeSet<&'static str>> = BTreeMap::new();
    let text = hunt(&rules, &samples, &["--format", "timesketch"]);
    let docs = jsonl(&text);
    assert!(docs.len() > 1000);
    for d in &docs {
        for (k, v) in d.as_object().unwrap() {
            let t = match v {
                Value::Null => "null",
                Value::Bool(_) => "bool",
                Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
                Value::Number(_) => "float",
                Value::String(_) => "string",
                Value::Array(a) if a.iter().all(Value::is_string) => "strings",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            types.entry(k.clone()).or_default().insert(t);
        }
        assert!(d["datetime"].is_string(), "{d}");
    }
    for (k, t) in &types {
        assert_eq!(t.len(), 1, "{k} has types {t:?}");
        assert!(!t.contains("null") && !t.contains("object"), "{k}: {t:?}");
    }
    assert!(
        types.len() <= 30,
        "a bounded set of fields: {:?}",
        types.keys()
    );
    // An undated detection is left out, and said so.
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("undated.jsonl");
    std::fs::write(
        &log,
        "{\"Channel\":\"Security\",\"EventID\":4624,\"Computer\":\"h\"}\n",
    )
    .unwrap();
    let rule = write_rule(
        t.path(),
        "r.yml",
        "title: Logon\nlogsource: {product: windows, service: security}\ndetection:\n  s: {EventID: 4624}\n  condition: s\nlevel: low\n",
    );
    let o = dwell(&[
        "hunt",
        "--rules",
        p(&rule),
        "--format",
        "timesketch",
        "--no-progress",
        p(&log),
    ]);
    assert_eq!(stdout(&o), "");
    assert!(
        stderr(&o).contains("1 detection(s) of events without a time were not written"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn ocsf_findings_pass_the_official_schema() {
    let Some((rules, samples)) = samples() else {
        return;
    };
    let python = std::env::var("DWELL_PYTHONPATH").unwrap_or_else(|_| "/opt/dwell-py".into());
    let check = std::process::Command::new("python3")
        .env("PYTHONPATH", &python)
        .args(["-c", "import ocsf_json_schema, jsonschema"])
        .output();
    if !check.is_ok_and(|o| o.status.success()) {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("the OCSF schema validator is needed under CI: .ci/run installs it in {python}");
        }
        eprintln!("SKIPPED: pip install --target {python} ocsf-json-schema jsonschema");
        return;
    }
    let findings = hunt(&rules, &samples, &["--format", "ocsf"]);
    let lines = jsonl(&findings);
    assert!(lines.len() > 1000);
    // Tactics by their ATT&CK names, evidence beyond the raw event where the event has it.
    let text = findings.as_str();
    assert!(text.contains("{\"tactic\":{\"name\":\"Credential Access\",\"uid\":\"TA0006\"}}"));
    assert!(
        lines
            .iter()
            .any(|f| f["evidences"][0]["process"]["cmd_line"].is_string())
    );
    assert!(
        lines
            .iter()
            .any(|f| f["evidences"][0]["user"]["name"].is_string())
    );
    let mut child = std::process::Command::new("python3")
        .env("PYTHONPATH", &python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ocsf_validate.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(findings.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!("{} findings, 0 invalid", lines.len())),
        "{said}"
    );
}

#[test]
fn csv_cells_cannot_run_and_profiles_choose_the_content() {
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("events.jsonl");
    std::fs::write(
        &log,
        "{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Computer\":\"=HYPERLINK(\\\"http://x\\\",\\\"click\\\")\",\"UtcTime\":\"2025-01-01 10:00:00.000\",\"CommandLine\":\"evil.exe -enc AAA\",\"Image\":\"C:\\\\evil.exe\",\"User\":\"CORP\\\\bob\",\"EventRecordID\":77}\n",
    )
    .unwrap();
    let rule = write_rule(t.path(), "evil.yml", common::EVIL_RULE);
    let csv = |extra: &[&str]| {
        let mut a = vec!["--format", "csv"];
        a.extend_from_slice(extra);
        hunt(&rule, &log, &a)
    };
    let out = csv(&[]);
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        dwell_report::csv_columns(dwell_report::Profile::Standard).join(",")
    );
    let row = lines.next().unwrap();
    assert!(
        row.contains(",\"'=HYPERLINK(\"\"http://x\"\",\"\"click\"\")\","),
        "{row}"
    );
    assert!(row.contains("Cmd: evil.exe -enc AAA"), "{row}");
    assert!(row.contains(",77,"), "the EventRecordID: {row}");
    // Asked to, the cell is written as it is.
    assert!(csv(&["--csv-formulas"]).contains(",\"=HYPERLINK("));
    // Minimal: no event content; all: every field.
    let minimal = csv(&["--profile", "minimal"]);
    assert!(!minimal.contains("evil.exe -enc"), "{minimal}");
    assert!(
        csv(&["--profile", "all"])
            .lines()
            .next()
            .unwrap()
            .ends_with(",all_fields")
    );
    let j = |profile: &str| {
        jsonl(&hunt(
            &rule,
            &log,
            &["--format", "jsonl", "--profile", profile],
        ))[0]
            .clone()
    };
    assert!(j("minimal").get("event").is_none() && j("minimal").get("matched").is_none());
    assert!(j("standard").get("event").is_none() && j("standard")["details"].is_string());
    let verbose = j("verbose");
    let extra = verbose["extra"].as_str().unwrap();
    assert!(
        extra.contains("EventRecordID: 77") && !extra.contains("CommandLine"),
        "{extra}"
    );
    assert_eq!(j("all")["event"]["User"], "CORP\\bob");
}

#[test]
fn the_navigator_layer_scores_each_technique_by_its_detections() {
    let Some((rules, samples)) = samples() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let layer_path = t.path().join("layer.json");
    let ds = jsonl(&hunt(
        &rules,
        &samples,
        &["--format", "jsonl", "--navigator", p(&layer_path)],
    ));
    // The truth, from the detections themselves: each technique's detections and gravest level.
    let rank = |l: &str| {
        ["informational", "low", "medium", "high", "critical"]
            .iter()
            .position(|x| *x == l)
    };
    let mut want: BTreeMap<String, (u64, Option<usize>)> = BTreeMap::new();
    for d in &ds {
        let mut seen = std::collections::BTreeSet::new();
        for tag in d["tags"].as_array().unwrap() {
            let tag = tag.as_str().unwrap().to_ascii_lowercase();
            let Some(id) = tag
                .strip_prefix("attack.t")
                .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            else {
                continue;
            };
            let id = format!("T{}", id.to_ascii_uppercase());
            if seen.insert(id.clone()) {
                let e = want.entry(id).or_default();
                e.0 += 1;
                e.1 = e.1.max(rank(d["level"].as_str().unwrap()));
            }
        }
    }
    let layer = common::read_json(&layer_path);
    assert_eq!(layer["domain"], "enterprise-attack");
    assert_eq!(layer["versions"]["layer"], "4.5");
    let got: BTreeMap<String, (u64, String)> = layer["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["techniqueID"].as_str().unwrap().to_string(),
                (
                    t["score"].as_u64().unwrap(),
                    t["color"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    assert!(got.len() > 50, "{}", got.len());
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    let legend: BTreeMap<String, String> = layer["legendItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["label"].as_str().unwrap().to_string(),
                l["color"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (id, (n, level)) in &want {
        let (score, color) = &got[id];
        assert_eq!(score, n, "{id}");
        let level = ["informational", "low", "medium", "high", "critical"][level.unwrap()];
        assert_eq!(
            color, &legend[level],
            "{id} is coloured by its gravest level, {level}"
        );
    }
}

#[test]
fn from_and_to_keep_the_detections_of_the_window_and_count_the_rest() {
    let Some((rules, samples)) = samples() else {
        return;
    };
    let all = jsonl(&hunt(&rules, &samples, &["--format", "jsonl"]));
    let mut times: Vec<&str> = all.iter().filter_map(|d| d["timestamp"].as_str()).collect();
    times.sort();
    let (from, to) = (times[times.len() / 4], times[times.len() * 3 / 4]);
    let want: Vec<&Value> = all
        .iter()
        .filter(|d| {
            d["timestamp"]
                .as_str()
                .is_some_and(|t| t >= from && t <= to)
        })
        .collect();
    let o = dwell(&[
        "hunt",
        "--rules",
        p(&rules),
        "--no-progress",
        "--format",
        "jsonl",
        "--from",
        from,
        "--to",
        to,
        p(&samples),
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let got = jsonl(&stdout(&o));
    // Correlations see only the window's events, so compare the rules' own detections.
    let ids = |v: &[&Value]| -> Vec<String> {
        let mut x: Vec<String> = v
            .iter()
            .filter(|d| d.get("correlation").is_none())
            .map(|d| d["alert_id"].as_str().unwrap().to_string())
            .collect();
        x.sort();
        x
    };
    let (g, w) = (ids(&got.iter().collect::<Vec<_>>()), ids(&want));
    let only_got: Vec<&String> = g.iter().filter(|x| !w.contains(x)).collect();
    let only_want: Vec<&String> = w.iter().filter(|x| !g.contains(x)).collect();
    let show = |ids: &[&String]| -> Vec<String> {
        ids.iter()
            .take(3)
            .map(|id| {
                let d = all.iter().find(|d| d["alert_id"] == ***id).unwrap();
                format!(
                    "{} {} {}",
                    d["timestamp"], d["rule_title"], d["event"]["EventID"]
                )
            })
            .collect()
    };
    assert!(
        only_got.is_empty() && only_want.is_empty(),
        "window {from}..{to}: {} only in the window run {:?}, {} only in the truth {:?}",
        only_got.len(),
        show(&only_got),
        only_want.len(),
        show(&only_want)
    );
    assert!(stderr(&o).contains("outside --from/--to"), "{}", stderr(&o));
    // A date alone is the whole day; a window that ends before it starts is refused.
    let o = dwell(&[
        "hunt",
        "--rules",
        p(&rules),
        "--from",
        "2030-01-02",
        "--to",
        "2030-01-01",
        p(&samples),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--from is after --to"),
        "{}",
        stderr(&o)
    );
    let day = &from[..10];
    let o = dwell(&[
        "hunt",
        "--rules",
        p(&rules),
        "--no-progress",
        "--format",
        "jsonl",
        "--from",
        day,
        "--to",
        day,
        p(&samples),
    ]);
    let got = jsonl(&stdout(&o));
    assert!(!got.is_empty());
    assert!(
        got.iter()
            .all(|d| d["timestamp"].as_str().unwrap().starts_with(day))
    );
    // The samples are years old: the last day before now holds none of them.
    let o = dwell(&[
        "hunt",
        "--rules",
        p(&rules),
        "--no-progress",
        "--format",
        "jsonl",
        "--last",
        "1d",
        p(&samples),
    ]);
    assert_eq!(stdout(&o), "", "{}", stderr(&o));
    assert!(stderr(&o).contains("outside --from/--to"), "{}", stderr(&o));
    let o = dwell(&["hunt", "--rules", p(&rules), "--last", "soon", p(&samples)]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn details_of_other_sources_carry_their_key_fields() {
    let Some(shared) = common::shared() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let rules = t.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    for (name, ls, field) in [
        ("ct", "{product: aws, service: cloudtrail}", "eventName"),
        (
            "az",
            "{product: azure, service: activitylogs}",
            "operationName",
        ),
        ("db", "{category: database}", "statement"),
        ("web", "{category: webserver}", "cs-method"),
        ("audit", "{product: linux, service: auditd}", "type"),
        ("syslog", "{product: linux}", "program"),
    ] {
        write_rule(
            &rules,
            &format!("{name}.yml"),
            &format!(
                "title: Any {name}\nlogsource: {ls}\ndetection:\n  s: {{{field}|exists: true}}\n  condition: s\nlevel: low\n"
            ),
        );
    }
    let ds = jsonl(&hunt(
        &rules,
        &shared.join("data/logs"),
        &["--format", "jsonl"],
    ));
    let clean = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &ds {
        let details = d["details"].as_str().unwrap();
        let e = &d["event"];
        // A repeated field (an audit event's records) is an array: its first value.
        let s = |k: &str| e[k].as_str().or_else(|| e[k][0].as_str()).map(clean);
        let mut check = |what: &'static str, want: String| {
            let want: String = want.chars().take(60).collect();
            assert!(
                details.contains(&want),
                "{what}: {details:?} lacks {want:?} ({})",
                d["rule_title"]
            );
            *seen.entry(what).or_default() += 1;
        };
        if let Some(v) = s("operationName") {
            check("azure", v);
        } else if let (Some(v), Some(_)) = (s("eventName"), s("eventSource")) {
            check("cloudtrail", v);
        } else if let Some(v) = s("statement") {
            check("database", v);
        } else if let (Some(m), Some(u)) = (s("cs-method"), s("c-uri").or(s("cs-uri-stem"))) {
            check("web", format!("{m} {u}"));
        } else if d["rule_title"] == "Any audit" {
            check("auditd", format!("Type: {}", s("type").unwrap()));
        } else if let Some(v) = s("user_name") {
            // PostgreSQL through syslog: its own template.
            check("database", format!("User: {v}"));
        } else if let Some(v) = s("program") {
            check("syslog", format!("Prog: {v}"));
        }
    }
    for what in ["cloudtrail", "azure", "database", "web", "auditd", "syslog"] {
        assert!(
            seen.get(what).copied().unwrap_or(0) > 0,
            "no {what} detection: {seen:?}"
        );
    }
}

#[test]
fn times_can_be_written_in_another_zone_and_stay_the_same_instants() {
    let Some((rules, samples)) = samples() else {
        return;
    };
    let file = samples.join("Credential Access");
    let utc = jsonl(&hunt(&rules, &file, &["--format", "jsonl"]));
    let shifted = jsonl(&hunt(
        &rules,
        &file,
        &["--format", "jsonl", "--output-timezone", "+05:30"],
    ));
    assert_eq!(utc.len(), shifted.len());
    let instant = |s: &str| jiff::Timestamp::from_str(s).unwrap();
    use std::str::FromStr;
    let by_id: BTreeMap<&str, &str> = utc
        .iter()
        .filter_map(|d| Some((d["alert_id"].as_str()?, d["timestamp"].as_str()?)))
        .collect();
    for d in &shifted {
        let (Some(id), Some(t)) = (d["alert_id"].as_str(), d["timestamp"].as_str()) else {
            continue;
        };
        assert!(t.ends_with("+05:30"), "{t}");
        assert_eq!(instant(t), instant(by_id[id]), "{id}");
    }
    // UTC stays the default, and a zone that is none is refused.
    assert!(by_id.values().all(|t| t.ends_with('Z')));
    let o = dwell(&[
        "hunt",
        "--rules",
        p(&rules),
        "--output-timezone",
        "Mars/Olympus",
        p(&file),
    ]);
    assert_eq!(o.status.code(), Some(2));
}
