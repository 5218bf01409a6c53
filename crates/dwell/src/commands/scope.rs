//! `dwell scope`: the principals' statements in the database logs, their requests in
//! application access logs and their file accesses in Windows logs (read with the formats
//! `hunt` uses, through internal rules that keep only the principals' events), worked out and
//! counted in people by `dwell_scope`, printed as a summary or one JSON document, and the
//! affected people's keys, the credentials to reset and a breach-notification draft written
//! when asked.

use super::scan;
use crate::cli::{IncidentFormat, ScopeArgs};
use crate::messages::Messages;
use crate::options::{Scan, color_err};
use crate::output::Output;
use crate::{Fail, Outcome};
use dwell_detect::Detection;
use dwell_pipeline::{Sink, SinkError, Tables};
use dwell_scope::{DataMap, Logged, Principals, Scope, Touch, Touched, snapshot::Snapshot};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};

/// YAML single-quoted text.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A Sigma value matching `s` exactly: its wildcards and backslashes escaped.
fn literal(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('*', "\\*")
        .replace('?', "\\?")
}

/// A YAML flow list of Sigma values matching these exactly.
fn list(v: &[String]) -> String {
    v.iter()
        .map(|x| quote(&literal(x)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An internal rule: its `name` says which kind of access its detections are.
fn rule(name: &str, title: &str, logsource: &str, detection: &str) -> (String, String) {
    (
        format!("dwell-scope/{name}.yml"),
        format!(
            "title: {title} (dwell scope)
name: {name}
status: stable
description: What dwell scope reads of the principals' activity.
logsource: {logsource}
detection:
{detection}
level: informational
"
        ),
    )
}

/// The internal rules: the database events that carry a statement of one of the principals'
/// roles (or, with addresses only, from one of their addresses); the access-log lines of the
/// data map's applications naming one of the principals; and the Windows file accesses by
/// one of their accounts. Only those become detections; Sigma compares them
/// case-insensitively, as PostgreSQL folds unquoted names and Windows compares accounts.
fn scope_rules(who: &Principals, map: &DataMap) -> Vec<(String, String)> {
    let (field, values) = if who.accounts.is_empty() {
        ("remote_host", list(&who.addresses))
    } else {
        ("user_name", list(&who.accounts))
    };
    let mut rules = Vec::new();
    if !who.accounts.is_empty() || !who.addresses.is_empty() {
        rules.push(rule(
            "sql",
            "Database statement of the principals",
            "{category: database}",
            &format!(
                "  statement:\n    statement|exists: true\n  who:\n    {field}: [{values}]\n  condition: statement and who"
            ),
        ));
    }
    for (k, app) in map.applications.iter().enumerate() {
        let who_line = match (&app.client, who.accounts.is_empty()) {
            (_, false) => format!("    {}: [{}]", quote(&app.principal), list(&who.accounts)),
            (Some(c), true) if !who.addresses.is_empty() => {
                format!("    {}: [{}]", quote(c), list(&who.addresses))
            }
            _ => continue,
        };
        // An application's own JSON log, or its web server's access log.
        for (suffix, logsource) in [
            ("", "{category: application}"),
            ("-web", "{category: webserver}"),
        ] {
            rules.push(rule(
                &format!("app-{k}{suffix}"),
                &format!(
                    "Request to {} by the principals",
                    app.name.replace(['\n', '\r'], " ")
                ),
                logsource,
                &format!(
                    "  request:\n    {}: true\n  who:\n{who_line}\n  condition: request and who",
                    quote(&format!("{}|exists", app.route))
                ),
            ));
        }
    }
    if !map.files.is_empty() {
        let (sec_who, sysmon_who) = if who.accounts.is_empty() {
            (String::new(), String::new())
        } else {
            // `DOMAIN\user`: an escaped backslash, then the account.
            let ends: Vec<String> = who
                .accounts
                .iter()
                .map(|a| quote(&format!("\\\\{}", literal(a))))
                .collect();
            (
                format!("\n  who:\n    SubjectUserName: [{}]", list(&who.accounts)),
                format!(
                    "\n  who:\n    - User: [{}]\n    - User|endswith: [{}]",
                    list(&who.accounts),
                    ends.join(", ")
                ),
            )
        };
        let cond = |w: &str| {
            if w.is_empty() {
                "access"
            } else {
                "access and who"
            }
        };
        rules.push(rule(
            "file-4663",
            "File access by the principals",
            "{product: windows, service: security}",
            &format!(
                "  access:\n    EventID: 4663\n    ObjectName|exists: true{sec_who}\n  condition: {}",
                cond(&sec_who)
            ),
        ));
        for (name, category) in [
            ("file-created", "file_event"),
            ("file-deleted", "file_delete"),
        ] {
            rules.push(rule(
                name,
                "File written or deleted by the principals",
                &format!("{{product: windows, category: {category}}}"),
                &format!(
                    "  access:\n    TargetFilename|exists: true{sysmon_who}\n  condition: {}",
                    cond(&sysmon_who)
                ),
            ));
        }
    }
    rules
}

/// How a 4663 event touched its object: the access list's or mask's read, write or delete.
fn access_of(list: &str, mask: &str) -> &'static str {
    let mask = mask
        .trim()
        .strip_prefix("0x")
        .and_then(|m| u64::from_str_radix(m, 16).ok())
        .unwrap_or(0);
    if list.contains("%%4416") || list.contains("ReadData") || mask & 0x1 != 0 {
        "read"
    } else if list.contains("%%4417") || list.contains("WriteData") || mask & 0x2 != 0 {
        "written"
    } else if list.contains("%%1537") || list.contains("DELETE") || mask & 0x10000 != 0 {
        "deleted"
    } else {
        "accessed"
    }
}

/// Keeps the principals' statements, requests and file accesses.
struct Accesses<'m> {
    map: &'m DataMap,
    logged: Vec<(Logged, u32)>,
    touches: Vec<(Touch, u32)>,
    /// The principals' events without a time, where they are.
    undated: Vec<(u32, u64)>,
    /// The same, named (once every detection has been given).
    undated_at: Vec<String>,
}

impl Sink for Accesses<'_> {
    fn detection(&mut self, d: &Detection, tables: &Tables<'_>) -> Result<(), SinkError> {
        let get = |k: &str| d.event.get(k).map(str::to_string);
        let name = tables
            .rules
            .get(d.rule as usize)
            .and_then(|r| r.name.as_deref())
            .unwrap_or("");
        // A request's time may be in a field of the application's own.
        let app_time = || {
            let k = name.strip_prefix("app-")?.trim_end_matches("-web");
            let field = self
                .map
                .applications
                .get(k.parse::<usize>().ok()?)?
                .time
                .as_ref()?;
            dwell_core::time::parse(d.event.get(field)?)
        };
        let Some(time) = d.time.or_else(app_time) else {
            self.undated.push((d.input, d.record));
            return Ok(());
        };
        let touch = |principal: String, client, host, what| Touch {
            time,
            principal,
            client,
            host,
            what,
            source: String::new(),
            record: d.record,
        };
        if name == "sql" {
            let Some(sql) = d.event.get("statement") else {
                return Ok(());
            };
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
        } else if let Some(k) = name
            .strip_prefix("app-")
            .and_then(|k| k.trim_end_matches("-web").parse::<usize>().ok())
        {
            let Some(app) = self.map.applications.get(k) else {
                return Ok(());
            };
            let Some(route) = d.event.get(&app.route) else {
                return Ok(());
            };
            let route = route.split(['?', '#']).next().unwrap_or(route).to_string();
            let ids = app.records.as_ref().and_then(|f| {
                let v: Vec<String> = d
                    .event
                    .iter()
                    .filter(|(n, _, _)| n == f)
                    .map(|(_, v, _)| v.trim().to_string())
                    .collect();
                (!v.is_empty()).then_some(v)
            });
            let client = app
                .client
                .as_ref()
                .and_then(|c| d.event.get(c))
                .map(|c| dwell_core::entity::ip(c).unwrap_or_else(|| c.to_string()));
            self.touches.push((
                touch(
                    get(&app.principal).unwrap_or_default(),
                    client,
                    None,
                    Touched::Request { app: k, route, ids },
                ),
                d.input,
            ));
        } else if name.starts_with("file-") {
            let (path, principal, access) = if name == "file-4663" {
                (
                    get("ObjectName"),
                    match (get("SubjectDomainName"), get("SubjectUserName")) {
                        (Some(dom), Some(u)) if !dom.is_empty() && dom != "-" => {
                            Some(format!("{dom}\\{u}"))
                        }
                        (_, u) => u,
                    },
                    access_of(
                        d.event.get("AccessList").unwrap_or(""),
                        d.event.get("AccessMask").unwrap_or(""),
                    ),
                )
            } else {
                (
                    get("TargetFilename"),
                    get("User"),
                    if name == "file-created" {
                        "created"
                    } else {
                        "deleted"
                    },
                )
            };
            let Some(path) = path.filter(|p| self.map.file(p).is_some()) else {
                return Ok(());
            };
            self.touches.push((
                touch(
                    principal.unwrap_or_default(),
                    None,
                    Some(d.host.clone()).filter(|h| !h.is_empty()),
                    Touched::File {
                        path,
                        access: access.to_string(),
                    },
                ),
                d.input,
            ));
        }
        Ok(())
    }

    fn finish(&mut self, tables: &Tables<'_>) -> Result<(), SinkError> {
        let names = tables.inputs.names();
        let name = |input: u32| names.get(input as usize).cloned().unwrap_or_default();
        for (l, input) in &mut self.logged {
            l.source = name(*input);
        }
        for (t, input) in &mut self.touches {
            t.source = name(*input);
        }
        self.undated_at = self
            .undated
            .iter()
            .map(|(input, record)| format!("{} record {record}", name(*input)))
            .collect();
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
            "host" => p.hosts.push(c.name.clone()),
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
    p.hosts.extend(args.hosts.iter().cloned());
    if let Some(f) = &args.from {
        p.from = Some(crate::options::bound(f, "--from", false)?);
    }
    if let Some(t) = &args.to {
        p.to = Some(crate::options::bound(t, "--to", true)?);
    }
    p.accounts.sort();
    p.accounts.dedup();
    p.addresses.sort();
    p.addresses.dedup();
    p.hosts.sort();
    p.hosts.dedup();
    if p.accounts.is_empty() && p.addresses.is_empty() && p.hosts.is_empty() {
        return Err(Fail(
            "whose reads? give --case, or --account, --ip and/or --host".into(),
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
        // A table of people, or another table its reads join (products, stores).
        let key = dwell_scope::map::table_key(table);
        let text = std::fs::read_to_string(file)
            .map_err(|e| Fail(format!("cannot read --snapshot {file}: {e}")))?;
        let s = Snapshot::parse(&text).map_err(|e| Fail(format!("--snapshot {file}: {e}")))?;
        if let Some(t) = map.tables.get(&key) {
            for c in std::iter::once(&t.person).chain(&t.created) {
                if !s.has(c) {
                    return Err(Fail(format!(
                        "--snapshot {file}: no column {c} (the data map's {} column of {key})",
                        if *c == t.person {
                            "person"
                        } else {
                            "creation-time"
                        }
                    )));
                }
            }
        }
        if snapshots.insert(key.clone(), s).is_some() {
            return Err(Fail(format!("--snapshot {key} is given twice")));
        }
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
    let o = Scan::reading(paths, input, scope_rules(who, map))?;
    let color = color_err(o.color);
    let mut sink = Accesses {
        map,
        logged: Vec::new(),
        touches: Vec::new(),
        undated: Vec::new(),
        undated_at: Vec::new(),
    };
    let (ran, _msgs) = scan::run(
        &o,
        |total| Messages::new(color, o.progress, total),
        &mut [&mut sink],
        &[],
    )?;
    let logged: Vec<Logged> = sink.logged.into_iter().map(|(l, _)| l).collect();
    let touches: Vec<Touch> = sink.touches.into_iter().map(|(t, _)| t).collect();
    let db = db.map(|d| d as &mut dyn dwell_scope::db::Keys);
    let mut s = dwell_scope::scope(&logged, &touches, who, map, snapshots, db);
    if !sink.undated_at.is_empty() {
        // Not silently lost: each is named, and the figures are no longer exact.
        for at in sink.undated_at.iter().take(20) {
            eprintln!(
                "dwell scope: {}: an event of the principals without a time: not evaluated (an application's `time:` field? see docs/scope.md)",
                dwell_core::text::terminal(at)
            );
        }
        if sink.undated_at.len() > 20 {
            eprintln!(
                "dwell scope: ... and {} more without a time",
                sink.undated_at.len() - 20
            );
        }
        s.undated = sink.undated_at.len() as u64;
        s.exact = false;
    }
    Ok((s, ran))
}

pub fn run(args: ScopeArgs) -> Result<Outcome, Fail> {
    let (mut map, snapshots) = load(&args.data_map, &args.snapshots)?;
    let who = principals(&args)?;
    // Connect before reading the logs, so a wrong URL fails at once.
    let mut db = args
        .db
        .as_deref()
        .map(dwell_scope::db::Database::connect)
        .transpose()
        .map_err(Fail)?;
    // With the database at hand, its views over tables of people are tables of people too.
    if let Some(db) = db.as_mut() {
        match db.views(&map) {
            Ok(views) => map.tables.extend(views),
            Err(e) => eprintln!("dwell scope: the views could not be read from the database: {e}"),
        }
    }
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
        let contacts = if args.with_contacts {
            let lookup = db
                .as_mut()
                .map(|d| d as &mut dyn dwell_scope::contacts::Lookup);
            let keys: std::collections::BTreeSet<String> = s.keys.keys().cloned().collect();
            let (c, errors) = dwell_scope::contacts::contacts(&map, &snapshots, lookup, &keys);
            for e in errors {
                eprintln!("dwell scope: contact details not read from {e}");
            }
            Some(c)
        } else {
            None
        };
        write_keys(path, &s, contacts.as_ref())?;
    }
    if let Some(path) = &args.resets {
        let mut text = String::from("person,credentials\n");
        for k in &s.credentials_exposed.keys {
            let cats: Vec<&str> = s.keys[k]
                .iter()
                .filter(|c| map.is_credential(c))
                .map(String::as_str)
                .collect();
            text += &format!(
                "{},{}\n",
                dwell_report::csv_cell(k),
                dwell_report::csv_cell(&cats.join(";"))
            );
        }
        write_private(path, "--resets", &text)?;
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
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let html = match ext.as_deref() {
        Some("md") => false,
        Some("html" | "htm") => true,
        _ => {
            return Err(Fail(format!(
                "--report {}: name it FILE.md (Markdown) or FILE.html (one HTML page)",
                path.display()
            )));
        }
    };
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
    let text = if html {
        dwell_scope::notice::html_page(s, &cx)
    } else {
        dwell_scope::notice::markdown(s, &cx)
    };
    dwell_report::write_whole(path, |w: &mut dyn Write| w.write_all(text.as_bytes()))
        .map_err(|e| Fail(format!("cannot write --report {}: {e}", path.display())))
}

/// The affected people's keys and categories (and, when asked, their contact details).
fn write_keys(
    path: &std::path::Path,
    s: &Scope,
    contacts: Option<
        &std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    >,
) -> Result<(), Fail> {
    let cell = dwell_report::csv_cell;
    let mut text = String::from("person,categories");
    if contacts.is_some() {
        for c in dwell_scope::contacts::CONTACT {
            text += &format!(",{c}");
        }
    }
    text.push('\n');
    for (k, cats) in &s.keys {
        let cats: Vec<&str> = cats.iter().map(String::as_str).collect();
        text += &format!("{},{}", cell(k), cell(&cats.join(";")));
        if let Some(c) = contacts {
            for cat in dwell_scope::contacts::CONTACT {
                let v = c
                    .get(k)
                    .and_then(|m| m.get(*cat))
                    .map_or("", String::as_str);
                text += &format!(",{}", cell(v));
            }
        }
        text.push('\n');
    }
    write_private(path, "--keys", &text)
}

/// Writes a file readable by its owner only: it names people.
fn write_private(path: &std::path::Path, flag: &str, text: &str) -> Result<(), Fail> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o
        .open(path)
        .map_err(|e| Fail(format!("cannot write {flag} {}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // An existing file keeps its mode on open: make it the owner's alone.
        let _ = f.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    f.write_all(text.as_bytes())
        .map_err(|e| Fail(format!("cannot write {flag} {}: {e}", path.display())))
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
    let cred = &s.credentials_exposed;
    if cred.people > 0 || !cred.unkeyed.is_empty() {
        writeln!(
            w,
            "credentials exposed: {} people's, to reset (--resets lists them){}",
            cred.people,
            if cred.unkeyed.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} access(es) to credentials of people not named",
                    cred.unkeyed.len()
                )
            }
        )?;
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
    for c in &s.caveats {
        writeln!(w, "note: {}", terminal(c))?;
    }
    writeln!(
        w,
        "{} access(es) to personal data; {} other statement(s) or request(s) of theirs",
        s.accesses.len(),
        s.other_statements
    )
}
