//! `dwell scope` beyond the database, held to what real logs contain: browser credential
//! stores read (Security 4663) and LSASS dumps written (Sysmon 11) in the shared attack
//! samples, and mailbox requests in a real IIS (OWA) access log. The truth is read from the
//! files by the test itself: the EVTX records through the `evtx` crate, the W3C log by its
//! `#Fields:` header, not through dwell's parsers, rules or globs.

mod common;

use common::{dwell, p, stderr, stdout};
use serde_json::Value;
use std::path::Path;

/// Every record of an EVTX file as the `evtx` crate renders it.
fn records(path: &Path) -> Vec<Value> {
    let mut parser = evtx::EvtxParser::from_path(path).unwrap();
    parser
        .records_json_value()
        .filter_map(Result::ok)
        .map(|r| r.data)
        .collect()
}

fn field<'a>(r: &'a Value, section: &str, name: &str) -> &'a str {
    r["Event"][section][name].as_str().unwrap_or("")
}

fn event_id(r: &Value) -> u64 {
    let id = &r["Event"]["System"]["EventID"];
    id.as_u64()
        .or_else(|| id["#text"].as_u64())
        .unwrap_or_default()
}

fn scope(map: &Path, extra: &[&str], input: &Path) -> Value {
    let mut args = vec![
        "scope",
        "--data-map",
        p(map),
        "--format",
        "json",
        "--no-progress",
    ];
    args.extend_from_slice(extra);
    args.push(p(input));
    let o = dwell(&args);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).expect("one JSON document")
}

fn files_of(s: &Value) -> Vec<String> {
    let mut v: Vec<String> = s["accesses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "file")
        .map(|a| a["statement"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn browser_credential_stores_read_are_credentials_exposed() {
    let Some(shared) = dwell_testdata::shared() else {
        return;
    };
    let evtx =
        shared.join("data/evtx/attack-samples/Credential Access/CA_chrome_firefox_opera_4663.evtx");
    let t = tempfile::tempdir().unwrap();
    let map = t.path().join("map.yml");
    std::fs::write(
        &map,
        "files:\n  - path: '*\\Login Data'\n    categories: [password]\n  - path: '*\\Mozilla\\Firefox\\Profiles\\*'\n    categories: [password]\n",
    )
    .unwrap();
    // The truth: every file read (ReadData) by IEUser under those paths.
    let mut want: Vec<String> = records(&evtx)
        .iter()
        .filter(|r| event_id(r) == 4663 && field(r, "EventData", "ObjectType") == "File")
        .filter(|r| field(r, "EventData", "SubjectUserName").eq_ignore_ascii_case("ieuser"))
        .filter(|r| field(r, "EventData", "AccessList").contains("%%4416"))
        .map(|r| field(r, "EventData", "ObjectName").to_string())
        .filter(|o| {
            let l = o.to_lowercase();
            l.ends_with("\\login data") || l.contains("\\mozilla\\firefox\\profiles\\")
        })
        .map(|o| format!("read {o}"))
        .collect();
    want.sort();
    assert!(want.len() >= 3, "the sample reads several stores: {want:?}");
    let s = scope(&map, &["--account", "IEUser"], &evtx);
    assert_eq!(files_of(&s), want, "{s:#}");
    // Credentials of people not named: each access is listed apart, and none is exact.
    assert_eq!(
        s["credentials_exposed"]["unkeyed"]
            .as_array()
            .unwrap()
            .len(),
        want.len()
    );
    assert_eq!(s["exact"], false);
    assert!(s["accesses"][0]["host"].is_string());
    // Another account read none of them.
    let s = scope(&map, &["--account", "SYSTEM"], &evtx);
    assert!(files_of(&s).is_empty(), "{s:#}");
}

#[test]
fn lsass_dumps_written_count_on_the_hosts_named() {
    let Some(shared) = dwell_testdata::shared() else {
        return;
    };
    let dir = shared.join("data/evtx/attack-samples/Credential Access");
    // The truth: every Sysmon 11 that wrote a .dmp, with its host.
    let mut want = Vec::new();
    let mut hosts = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|f| f.extension().is_some_and(|e| e == "evtx"))
        .collect();
    files.sort();
    for f in &files {
        for r in records(f) {
            let sysmon = r["Event"]["System"]["Channel"] == "Microsoft-Windows-Sysmon/Operational";
            let target = field(&r, "EventData", "TargetFilename");
            if sysmon && event_id(&r) == 11 && target.to_lowercase().ends_with(".dmp") {
                want.push(format!("created {target}"));
                let h = r["Event"]["System"]["Computer"]
                    .as_str()
                    .unwrap()
                    .to_string();
                if !hosts.contains(&h) {
                    hosts.push(h);
                }
            }
        }
    }
    want.sort();
    assert!(want.len() >= 4, "{want:?}");
    let t = tempfile::tempdir().unwrap();
    let map = t.path().join("map.yml");
    std::fs::write(
        &map,
        "files:\n  - path: '*.dmp'\n    categories: [password_hash]\n",
    )
    .unwrap();
    // These Sysmon versions write no User in event 11: the hosts are the principals.
    let mut args = Vec::new();
    for h in &hosts {
        args.push("--host");
        args.push(h.as_str());
    }
    let s = scope(&map, &args, &dir);
    assert_eq!(files_of(&s), want, "{s:#}");
    // One host only: only its dumps.
    let first = &hosts[0];
    let s = scope(&map, &["--host", first], &dir);
    assert!(!files_of(&s).is_empty() && files_of(&s).len() < want.len() || hosts.len() == 1);
    assert!(
        s["accesses"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["host"].as_str().unwrap().eq_ignore_ascii_case(first))
    );
}

#[test]
fn mailbox_requests_in_a_real_iis_log_are_the_accounts_accesses() {
    let Some(shared) = dwell_testdata::shared() else {
        return;
    };
    let log = shared.join("data/logs/iis/iis7_owa.log");
    let text = std::fs::read_to_string(&log).unwrap();
    // The truth, by the log's own header: the requests of the account, by route.
    let fields: Vec<&str> = text
        .lines()
        .find_map(|l| l.strip_prefix("#Fields: "))
        .unwrap()
        .split(' ')
        .collect();
    let col = |n: &str| fields.iter().position(|f| *f == n).unwrap();
    let (user, stem) = (col("cs-username"), col("cs-uri-stem"));
    let lines: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(' ').collect())
        .collect();
    let account = lines[0][user];
    let mut want: Vec<String> = lines
        .iter()
        .filter(|l| l[user] == account)
        .filter(|l| {
            let s = l[stem].to_lowercase();
            s.starts_with("/owa/") || s.starts_with("/ews/")
        })
        .map(|l| format!("owa {}", l[stem]))
        .collect();
    want.sort();
    assert!(!want.is_empty());
    let t = tempfile::tempdir().unwrap();
    let map = t.path().join("map.yml");
    std::fs::write(
        &map,
        "tables:\n  exchange.mailboxes:\n    person: mailbox\n    columns: {subject: email_content, body: email_content}\napplications:\n  - name: owa\n    principal: cs-username\n    client: c-ip\n    route: cs-uri-stem\n    routes:\n      - {route: '/owa/*', table: exchange.mailboxes}\n      - {route: '/EWS/*', table: exchange.mailboxes}\n",
    )
    .unwrap();
    let s = scope(&map, &["--account", account], &log);
    let mut got: Vec<String> = s["accesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["kind"], "request");
            assert_eq!(a["evaluation"], "bound", "the log names no records");
            assert_eq!(a["categories"][0], "email_content");
            a["statement"].as_str().unwrap().to_string()
        })
        .collect();
    got.sort();
    assert_eq!(got, want, "{s:#}");
    // The requests the map does not route are no access to personal data.
    let routed = want.len();
    let all = lines.iter().filter(|l| l[user] == account).count();
    assert_eq!(s["other_statements"], (all - routed) as u64);
}

#[test]
fn an_application_log_naming_the_records_returned_is_exact() {
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("admin-api.jsonl");
    // An admin API's access log: who, from where, the route, and the customers returned.
    let mut text = String::new();
    let mut want = std::collections::BTreeSet::new();
    for k in 0..40u32 {
        let (user, ip) = if k % 4 == 0 {
            ("alice", "10.0.0.2")
        } else {
            ("mallory", "10.0.0.9")
        };
        let ids: Vec<u32> = (k * 10..k * 10 + 1 + k % 3).collect();
        let path = if k % 5 == 0 {
            "/admin/health".to_string()
        } else {
            format!("/admin/customers/export?page={k}")
        };
        if user == "mallory" && k % 5 != 0 {
            want.extend(ids.iter().map(|i| i.to_string()));
        }
        text += &format!(
            "{{\"ts\":\"2026-02-0{}T10:{:02}:00Z\",\"user\":{{\"name\":\"{user}\"}},\"client_ip\":\"{ip}\",\"http\":{{\"path\":\"{path}\",\"status\":200}},\"customer_ids\":{:?}}}\n",
            1 + k % 7,
            k,
            ids
        );
    }
    std::fs::write(&log, text).unwrap();
    let map = t.path().join("map.yml");
    let map_text = "tables:\n  customers:\n    person: customer_id\n    columns: {email: email, name: name}\napplications:\n  - name: admin-api\n    principal: user.name\n    client: client_ip\n    route: http.path\n    records: customer_ids\n    routes:\n      - {route: '/admin/customers/*', table: customers, categories: [email]}\n";
    // `ts` is no time field dwell knows: each of mallory's requests is reported undated,
    // never silently dropped, and the answer is not exact.
    std::fs::write(&map, map_text).unwrap();
    let s = scope(&map, &["--account", "mallory"], &log);
    assert_eq!(s["undated"], 30, "{s:#}");
    assert_eq!(s["exact"], false);
    assert_eq!(s["people_affected"], 0);
    // Told where the time is, every request is placed and evaluated.
    std::fs::write(&map, format!("{map_text}    time: ts\n")).unwrap();
    let keys = t.path().join("keys.csv");
    let s = scope(
        &map,
        &[
            "--account",
            "mallory",
            "--ip",
            "10.0.0.9",
            "--keys",
            p(&keys),
        ],
        &log,
    );
    assert_eq!(s["exact"], true, "{s:#}");
    assert_eq!(s["people_affected"], want.len() as u64);
    assert_eq!(s["people_by_category"]["email"], want.len() as u64);
    let listed: std::collections::BTreeSet<String> = std::fs::read_to_string(&keys)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    assert_eq!(listed, want);
    assert!(s["accesses"].as_array().unwrap().iter().all(|a| {
        a["statement"]
            .as_str()
            .unwrap()
            .starts_with("admin-api /admin/customers/export")
            && a["client"] == "10.0.0.9"
    }));
}
