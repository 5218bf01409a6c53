//! `dwell scope`: the principals' statements in the database logs (read with the formats
//! `hunt` uses, through one internal rule that keeps every logged statement), worked out and
//! counted in people by `dwell_scope`, printed as a summary or one JSON document, and the
//! affected people's keys written when asked.

use super::scan;
use crate::cli::{IncidentFormat, ScopeArgs};
use crate::messages::Messages;
use crate::options::{Scan, color_err};
use crate::output::Output;
use crate::{Fail, Outcome};
use dwell_detect::Detection;
use dwell_pipeline::{Sink, SinkError, Tables};
use dwell_scope::{DataMap, Logged, Principals, Scope, snapshot::Snapshot};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};

/// The internal rule: the database events that carry a statement of one of the principals'
/// roles (or, with addresses only, from one of their addresses), so that only those become
/// detections; Sigma compares them case-insensitively, as PostgreSQL folds unquoted names.
fn statements_rule(who: &Principals) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let list = |v: &[String]| v.iter().map(|x| quote(x)).collect::<Vec<_>>().join(", ");
    let (field, values) = if who.accounts.is_empty() {
        ("remote_host", list(&who.addresses))
    } else {
        ("user_name", list(&who.accounts))
    };
    format!(
        "title: Database statement of the principals (dwell scope)
id: 0d9a7f52-3c1e-4a8b-9f60-5e2d1c7b4a93
status: stable
description: The statements a database log names (pgaudit, log_statement) by the principals, for dwell scope.
logsource: {{category: database}}
detection:
  statement:
    statement|exists: true
  who:
    {field}: [{values}]
  condition: statement and who
level: informational
"
    )
}

/// Keeps every logged statement.
#[derive(Default)]
struct Statements {
    logged: Vec<(Logged, u32)>,
}

impl Sink for Statements {
    fn detection(&mut self, d: &Detection, _: &Tables<'_>) -> Result<(), SinkError> {
        let (Some(time), Some(sql)) = (d.time, d.event.get("statement")) else {
            return Ok(());
        };
        let get = |k: &str| d.event.get(k).map(str::to_string);
        self.logged.push((
            Logged {
                time,
                principal: get("user_name").unwrap_or_default(),
                client: get("remote_host").or_else(|| get("connection_from")),
                session: get("session_id"),
                statement_id: get("statement_id"),
                statement: sql.to_string(),
                rows: d.event.get("rows").and_then(|r| r.trim().parse().ok()),
                source: String::new(),
                record: d.record,
            },
            d.input,
        ));
        Ok(())
    }

    fn finish(&mut self, tables: &Tables<'_>) -> Result<(), SinkError> {
        let names = tables.inputs.names();
        for (l, input) in &mut self.logged {
            l.source = names.get(*input as usize).cloned().unwrap_or_default();
        }
        Ok(())
    }
}

fn time(s: &str, flag: &str) -> Result<i64, Fail> {
    dwell_core::time::parse(s).ok_or_else(|| Fail(format!("{flag} '{s}' is not a time")))
}

/// The principals of an incident of a case: the accounts it compromised and the addresses
/// its detections name, from its first malicious event to its last.
pub fn principals_of(
    report: &dwell_investigate::Report,
    incident: Option<u32>,
    case: &std::path::Path,
) -> Result<Principals, Fail> {
    let inc = match incident {
        Some(n) => report.incidents.iter().find(|i| i.id == n),
        None => report.incidents.iter().find(|i| i.campaign),
    }
    .ok_or_else(|| {
        Fail(format!(
            "{}: no {}",
            case.display(),
            incident.map_or("campaign".to_string(), |n| format!("incident {n}"))
        ))
    })?;
    let mut p = Principals::default();
    for c in &inc.compromised {
        match c.kind.as_str() {
            "account" => p.accounts.push(dwell_scope::user_part(&c.name)),
            "address" => p.addresses.push(c.name.clone()),
            _ => {}
        }
    }
    p.addresses
        .extend(dwell_report::case::incident_addresses(case, inc.id)?);
    p.from = Some(inc.first.time);
    p.to = Some(inc.last.time);
    Ok(p)
}

/// The principals: an incident's, and those given by hand.
fn principals(args: &ScopeArgs) -> Result<Principals, Fail> {
    let mut p = Principals::default();
    if let Some(case) = &args.case {
        let report = dwell_report::case::read(case)?;
        p = principals_of(&report, args.incident, case)?;
    }
    p.accounts
        .extend(args.accounts.iter().map(|a| dwell_scope::user_part(a)));
    for ip in &args.ips {
        p.addresses.push(
            dwell_core::entity::ip(ip)
                .ok_or_else(|| Fail(format!("--ip '{ip}' is not an address")))?,
        );
    }
    if let Some(f) = &args.from {
        p.from = Some(time(f, "--from")?);
    }
    if let Some(t) = &args.to {
        p.to = Some(time(t, "--to")?);
    }
    p.accounts.sort();
    p.accounts.dedup();
    p.addresses.sort();
    p.addresses.dedup();
    if p.accounts.is_empty() && p.addresses.is_empty() {
        return Err(Fail(
            "whose reads? give --case, or --account and/or --ip".into(),
        ));
    }
    Ok(p)
}

/// The data map and the snapshots, checked against each other.
pub fn load(
    data_map: &std::path::Path,
    specs: &[String],
) -> Result<(DataMap, HashMap<String, Snapshot>), Fail> {
    let map_text = std::fs::read_to_string(data_map).map_err(|e| {
        Fail(format!(
            "cannot read --data-map {}: {e}",
            data_map.display()
        ))
    })?;
    let map = DataMap::parse(&map_text)
        .map_err(|e| Fail(format!("--data-map {}: {e}", data_map.display())))?;
    let mut snapshots = HashMap::new();
    for spec in specs {
        let (table, file) = spec
            .split_once('=')
            .ok_or_else(|| Fail(format!("--snapshot '{spec}' is not TABLE=FILE")))?;
        let (key, t) = map.table(table).ok_or_else(|| {
            Fail(format!(
                "--snapshot {table}: the data map has no such table"
            ))
        })?;
        let text = std::fs::read_to_string(file)
            .map_err(|e| Fail(format!("cannot read --snapshot {file}: {e}")))?;
        let s = Snapshot::parse(&text).map_err(|e| Fail(format!("--snapshot {file}: {e}")))?;
        if !s.has(&t.person) {
            return Err(Fail(format!(
                "--snapshot {file}: no column {} (the person column of {key})",
                t.person
            )));
        }
        snapshots.insert(key.to_string(), s);
    }
    Ok((map, snapshots))
}

/// Reads `paths` for logged statements and works out whose data `who` read.
pub fn measure(
    paths: Vec<std::path::PathBuf>,
    input: &crate::cli::InputArgs,
    who: &Principals,
    map: &DataMap,
    snapshots: &HashMap<String, Snapshot>,
    db: Option<&mut dwell_scope::db::Database>,
) -> Result<(Scope, scan::Ran), Fail> {
    let o = Scan::reading(
        paths,
        input,
        vec![(
            "dwell-scope/statements.yml".to_string(),
            statements_rule(who),
        )],
    )?;
    let color = color_err(o.color);
    let mut sink = Statements::default();
    let (ran, _msgs) = scan::run(
        &o,
        |total| Messages::new(color, o.progress, total),
        &mut [&mut sink],
        &[],
    )?;
    let logged: Vec<Logged> = sink.logged.into_iter().map(|(l, _)| l).collect();
    let db = db.map(|d| d as &mut dyn dwell_scope::db::Keys);
    Ok((dwell_scope::scope(&logged, who, map, snapshots, db), ran))
}

pub fn run(args: ScopeArgs) -> Result<Outcome, Fail> {
    let (map, snapshots) = load(&args.data_map, &args.snapshots)?;
    let who = principals(&args)?;
    // Connect before reading the logs, so a wrong URL fails at once.
    let mut db = args
        .db
        .as_deref()
        .map(dwell_scope::db::Database::connect)
        .transpose()
        .map_err(Fail)?;
    let (s, ran) = measure(
        args.paths.clone(),
        &args.input,
        &who,
        &map,
        &snapshots,
        db.as_mut(),
    )?;
    let color = color_err(args.input.color);
    if let Some(path) = &args.keys {
        write_keys(path, &s)?;
    }
    if let Some(path) = &args.report {
        write_report(path, &args, &s)?;
    }
    let mut out = Output::open(args.output.as_deref())?;
    let table = match args.format {
        Some(IncidentFormat::Table) => true,
        Some(IncidentFormat::Json) => false,
        None => out.terminal && std::io::stdout().is_terminal(),
    };
    let r = if table {
        print_table(&mut out, &s)
    } else {
        serde_json::to_writer_pretty(&mut out, &s)
            .map_err(std::io::Error::other)
            .and_then(|_| writeln!(out))
    };
    r.map_err(|e| Fail(format!("cannot write the scope: {e}")))?;
    out.done()?;
    ran.summary(color);
    Ok(Outcome::of(ran.partial))
}

/// The breach-notification draft, with the campaign's timeline and accounts when a case is
/// given.
fn write_report(path: &std::path::Path, args: &ScopeArgs, s: &Scope) -> Result<(), Fail> {
    if !path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("md"))
    {
        return Err(Fail(format!(
            "--report {}: the draft is Markdown: name it FILE.md",
            path.display()
        )));
    }
    let aware = match &args.aware {
        Some(a) => time(a, "--aware")?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64),
    };
    let mut cx = dwell_scope::notice::Context {
        aware,
        ..Default::default()
    };
    if let Some(case) = &args.case {
        let report = dwell_report::case::read(case)?;
        let inc = match args.incident {
            Some(n) => report.incidents.iter().find(|i| i.id == n),
            None => report.incidents.iter().find(|i| i.campaign),
        };
        if let Some(inc) = inc {
            let at = |d: &dwell_investigate::DetectionRef| {
                (
                    d.time,
                    format!("{} record {} ({})", d.source, d.record, d.rule_title),
                )
            };
            cx.first_event = Some(at(&inc.first));
            cx.impact = inc.impact.as_ref().map(at);
            cx.accounts = inc
                .compromised
                .iter()
                .filter(|c| c.kind == "account")
                .map(|c| c.name.clone())
                .collect();
        }
    }
    let text = dwell_scope::notice::markdown(s, &cx);
    dwell_report::write_whole(path, |w: &mut dyn Write| w.write_all(text.as_bytes()))
        .map_err(|e| Fail(format!("cannot write --report {}: {e}", path.display())))
}

/// The affected people's keys and categories, readable by the owner only.
fn write_keys(path: &std::path::Path, s: &Scope) -> Result<(), Fail> {
    let mut text = String::from("person,categories\n");
    for (k, cats) in &s.keys {
        let cats: Vec<&str> = cats.iter().map(String::as_str).collect();
        text += &format!(
            "{},{}\n",
            dwell_report::csv_cell(k),
            dwell_report::csv_cell(&cats.join(";"))
        );
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o
        .open(path)
        .map_err(|e| Fail(format!("cannot write --keys {}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // An existing file keeps its mode on open: make it the owner's alone.
        let _ = f.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    f.write_all(text.as_bytes())
        .map_err(|e| Fail(format!("cannot write --keys {}: {e}", path.display())))
}

fn print_table(w: &mut dyn Write, s: &Scope) -> std::io::Result<()> {
    use dwell_core::text::terminal;
    let t = |x: Option<i64>| x.map_or("-".to_string(), dwell_core::time::format);
    writeln!(
        w,
        "{} people's data read ({}), {} records, from {} to {}",
        s.people_affected,
        if s.exact {
            "exactly".to_string()
        } else {
            match s.people_upper {
                Some(u) => format!("at most {u} counting the bounds below"),
                None => "more, unbounded, below".to_string(),
            }
        },
        s.records_affected,
        t(s.first_access),
        t(s.last_access)
    )?;
    for (c, n) in &s.people_by_category {
        writeln!(w, "  {:<16} {n} people", terminal(c))?;
    }
    writeln!(
        w,
        "principals: accounts {}; addresses {}",
        terminal(&s.principals.accounts.join(", ")),
        terminal(&s.principals.addresses.join(", "))
    )?;
    for a in &s.accesses {
        writeln!(
            w,
            "  {}  {}  {:<13} {}  ({} record {}){}",
            dwell_core::time::format(a.time),
            terminal(&a.principal),
            a.evaluation,
            terminal(&dwell_core::text::clip(&a.statement, 100)),
            terminal(&a.source),
            a.record,
            match (a.people, &a.why) {
                (Some(n), _) => format!(": {n} people, {}", a.categories.join(", ")),
                (None, why) if !why.is_empty() => format!(": {}", terminal(why)),
                _ => String::new(),
            }
        )?;
    }
    writeln!(
        w,
        "{} access(es) to personal data; {} other statement(s) of theirs",
        s.accesses.len(),
        s.other_statements
    )
}
