//! Every real sample log in `../shared/data/logs/` (other projects' test files) is recognised
//! as its family and variant, and every record becomes an event or a problem with a reason.
//! Counts are checked against what the files contain, counted here independently of the
//! parsers where the format allows (one record per line, one event per audit serial).

use dwell_ingest::{Decoder, FileSource, Gather, Registry, Source};
use std::collections::BTreeMap;
use std::path::Path;

/// What reading one file gave.
#[derive(Debug, Default)]
struct Read {
    format: String,
    variant: String,
    events: usize,
    timed: usize,
    problems: Vec<String>,
}

fn read(path: &Path) -> Read {
    let (found, skipped) = dwell_ingest::discover(&[path.to_path_buf()]);
    assert!(skipped.is_empty(), "{}: {skipped:?}", path.display());
    let registry = Registry::builtin();
    let mut feed = Gather::default();
    let mut source = FileSource::new(found, registry);
    source.run(&mut feed);
    assert!(
        feed.failures.is_empty(),
        "{}: {:?}",
        path.display(),
        feed.failures
    );
    let mut out = Read::default();
    if let Some(f) = feed.batches.first() {
        out.format = f.format.name().to_string();
        out.variant = f.format.variant().to_string();
    }
    out.problems = feed
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.place, p.reason))
        .collect();
    let mut decoder = Decoder::default();
    for b in &feed.batches {
        decoder.decode(
            b,
            &mut |ev| {
                out.events += 1;
                out.timed += ev.timestamp.is_some() as usize;
            },
            &mut |p| out.problems.push(format!("{}: {}", p.place, p.reason)),
        );
    }
    out
}

fn nonblank_lines(path: &Path) -> Vec<String> {
    String::from_utf8_lossy(&std::fs::read(path).unwrap())
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// (file, format, variant, events, problems, events with a time)
const EXPECTED: &[(&str, &str, &str, usize, usize, usize)] = &[
    (
        "aws-cloudtrail/aws_cloudtrail.jsonl",
        "cloudtrail",
        "",
        6,
        0,
        6,
    ),
    (
        "azure-activity/azure_activity_log.jsonl",
        "azure",
        "",
        4,
        0,
        4,
    ),
    ("iis/iis10.log", "w3c", "", 1, 0, 1),
    ("iis/iis10_cookies.log", "w3c", "", 3, 0, 3),
    ("iis/iis10_edge_cases.log", "w3c", "", 15, 0, 15),
    ("iis/iis6.log", "w3c", "", 12, 0, 12),
    ("iis/iis7_owa.log", "w3c", "", 3, 0, 3),
    ("iis/iis7_sqli.log", "w3c", "", 2, 0, 2),
    ("iis/iis_without_date.log", "w3c", "", 11, 0, 11),
    ("iis/logfile_w3c.0", "w3c", "", 1, 0, 1),
    ("iis/logfile_w3c.1", "w3c", "", 1, 0, 1),
    ("iis/logfile_w3c.2", "w3c", "", 14, 0, 14),
    ("iis/logfile_w3c.3", "w3c", "", 3, 0, 3),
    ("iis/logfile_w3c.4", "w3c", "", 2, 0, 2),
    ("iis/logfile_w3c_big.0", "w3c", "", 210, 0, 210),
    ("linux-auditd/audit-rhel6.log", "auditd", "", 2, 0, 2),
    ("linux-auditd/audit-rhel7.log", "auditd", "", 49, 1, 49),
    ("linux-auditd/audit-ubuntu14.log", "auditd", "", 1, 0, 1),
    ("linux-auditd/audit-ubuntu16.log", "auditd", "", 3, 0, 3),
    ("linux-auditd/audit-ubuntu17.log", "auditd", "", 1, 0, 1),
    ("linux-auditd/audit_enriched.log", "auditd", "", 12, 0, 12),
    ("linux-auditd/selinux.log", "auditd", "", 6, 4, 6),
    ("linux-auditd/test2.log", "auditd", "", 7, 0, 7),
    ("linux-auditd/test3.log", "auditd", "", 15, 0, 15),
    (
        "linux-syslog/logfile_syslog.0",
        "syslog",
        "rfc3164",
        4,
        0,
        4,
    ),
    (
        "linux-syslog/logfile_syslog_with_mixed_times.0",
        "syslog",
        "rfc3164",
        13,
        0,
        13,
    ),
    ("linux-syslog/syslog", "syslog", "rfc3164", 16, 0, 16),
    ("linux-syslog/syslog_cron.log", "syslog", "rfc3164", 9, 0, 9),
    ("linux-syslog/syslog_rsyslog", "syslog", "rfc3339", 5, 0, 5),
    (
        "linux-syslog/syslog_rsyslog_ForwardFormat",
        "syslog",
        "forward",
        9,
        0,
        9,
    ),
    (
        "linux-syslog/syslog_rsyslog_SysklogdFileFormat",
        "syslog",
        "rfc3164",
        9,
        0,
        9,
    ),
    (
        "linux-syslog/syslog_rsyslog_SyslogProtocol23Format",
        "syslog",
        "rfc5424",
        9,
        0,
        9,
    ),
    (
        "linux-syslog/syslog_rsyslog_TraditionalForwardFormat",
        "syslog",
        "forward",
        9,
        0,
        9,
    ),
    (
        "linux-syslog/syslog_rsyslog_traditional",
        "syslog",
        "rfc3164",
        8,
        0,
        8,
    ),
    ("linux-syslog/syslog_ssh.log", "syslog", "rfc3164", 9, 0, 9),
    ("linux-syslog/test.log", "syslog", "rfc3164", 10, 0, 10),
    ("linux-syslog/timestamp.log", "syslog", "rfc3339", 2, 0, 2),
    (
        "postgresql/csv_statement_without_duration.log",
        "postgresql",
        "csvlog",
        2,
        0,
        2,
    ),
    (
        "postgresql/light.postgres.log",
        "postgresql",
        "stderr",
        630,
        0,
        630,
    ),
    (
        "postgresql/logfile_postgres.0",
        "postgresql",
        "stderr",
        20,
        0,
        20,
    ),
    (
        "postgresql/logfile_postgres.1",
        "postgresql",
        "stderr",
        5,
        0,
        5,
    ),
    (
        "postgresql/logfile_postgres.2",
        "postgresql",
        "stderr",
        2,
        0,
        2,
    ),
    (
        "postgresql/multiline_param.log",
        "postgresql",
        "stderr",
        8,
        0,
        8,
    ),
    ("postgresql/pg-syslog.1", "syslog", "rfc3164", 2000, 0, 2000),
    (
        "postgresql/pg_vacuums.json",
        "postgresql",
        "jsonlog",
        1000,
        0,
        1000,
    ),
    ("postgresql/pgaudit.out", "postgresql", "psql", 421, 2176, 0),
    (
        "postgresql/postgresql.log",
        "postgresql",
        "stderr",
        18,
        0,
        18,
    ),
    ("postgresql/rds.log", "postgresql", "stderr", 2000, 0, 2000),
    ("vmware-vcenter/logfile_vami.0", "syslog", "vmware", 1, 0, 1),
    (
        "vmware-vcenter/logfile_vmw_log.0",
        "syslog",
        "vmware",
        3,
        0,
        3,
    ),
    (
        "vmware-vcenter/logfile_vpxd.0",
        "syslog",
        "vmware",
        12,
        0,
        12,
    ),
    ("web-access/apache_access.log", "access-log", "", 15, 0, 15),
    ("web-access/logfile_access_log.0", "access-log", "", 3, 0, 3),
    (
        "web-access/logfile_shop_access_log.0",
        "access-log",
        "",
        1000,
        0,
        1000,
    ),
];

#[test]
fn every_sample_is_read_as_its_family() {
    let Some(shared) = dwell_testdata::shared() else {
        return;
    };
    let logs = shared.join("data/logs");
    let mut seen = BTreeMap::new();
    for dir in std::fs::read_dir(&logs).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with("LICENSE") || name == "SOURCE.md" {
                continue;
            }
            let rel = format!("{}/{name}", dir.file_name().unwrap().to_string_lossy());
            let r = read(&f);
            seen.insert(rel, (r, f));
        }
    }
    // Every file there is in the table, and the table names no file that is not there.
    let names: Vec<&str> = seen.keys().map(String::as_str).collect();
    let listed: Vec<&str> = EXPECTED.iter().map(|e| e.0).collect();
    assert_eq!(names, listed, "the samples and the table differ");
    for (file, format, variant, events, problems, timed) in EXPECTED {
        let (r, path) = &seen[*file];
        let got = (
            r.format.as_str(),
            r.variant.as_str(),
            r.events,
            r.problems.len(),
            r.timed,
        );
        assert_eq!(
            got,
            (*format, *variant, *events, *problems, *timed),
            "{file}: {:?}",
            r.problems
        );
        independent_count(file, format, path, r);
    }
    reasons(&seen);
}

/// Checks the record count against the file itself, where the format makes that simple.
fn independent_count(file: &str, format: &str, path: &Path, r: &Read) {
    let lines = nonblank_lines(path);
    let records = r.events + r.problems.len();
    let expected = match format {
        // One record per line.
        "access-log" | "azure" | "cloudtrail" => lines.len(),
        "w3c" => lines.iter().filter(|l| !l.starts_with('#')).count(),
        // One event per run of lines with the same audit(time:serial); lines without one
        // are records of their own.
        "auditd" => {
            let ids: Vec<Option<&str>> = lines
                .iter()
                .map(|l| {
                    l.split("msg=audit(")
                        .nth(1)
                        .and_then(|r| r.split(')').next())
                })
                .collect();
            ids.iter()
                .enumerate()
                .filter(|(i, id)| *i == 0 || id.is_none() || ids[i - 1] != **id)
                .count()
        }
        // A record starts at a line that begins with a date and is not the DETAIL, HINT,
        // CONTEXT, STATEMENT or QUERY of the one before.
        "postgresql" if r.variant == "stderr" => lines
            .iter()
            .filter(|l| l.as_bytes().first().is_some_and(u8::is_ascii_digit))
            .filter(|l| {
                ![
                    "DETAIL:  ",
                    "HINT:  ",
                    "CONTEXT:  ",
                    "STATEMENT:  ",
                    "QUERY:  ",
                ]
                .iter()
                .any(|k| l.contains(k))
            })
            .count(),
        // psql transcripts: every line is a record (a server message or a rejected line).
        "postgresql" if r.variant == "psql" => lines.len(),
        _ => return,
    };
    assert_eq!(
        records, expected,
        "{file}: records against the file's own lines"
    );
}

/// The reasons problems are reported with, per file that has any.
fn reasons(seen: &BTreeMap<String, (Read, std::path::PathBuf)>) {
    let want: &[(&str, &[&str])] = &[
        (
            "linux-auditd/audit-rhel7.log",
            &["line 31: an audit record without msg=audit(...)"],
        ),
        (
            "linux-auditd/selinux.log",
            &[
                "line 2: audit(1337845201) has no serial number (time:serial)",
                "line 4: audit() has no serial number (time:serial)",
                "line 6: an audit record with an empty type",
                "line 7: not an audit record: no type= at its start",
            ],
        ),
    ];
    for (file, reasons) in want {
        assert_eq!(&seen[*file].0.problems, reasons, "{file}");
    }
    let psql = &seen["postgresql/pgaudit.out"].0.problems;
    assert!(
        psql.iter()
            .all(|p| p.ends_with("psql session text (SQL and its results), not a server message"))
    );
    for (file, (r, _)) in seen {
        if !want.iter().any(|(f, _)| f == file) && file != "postgresql/pgaudit.out" {
            assert!(r.problems.is_empty(), "{file}: {:?}", r.problems);
        }
    }
}
