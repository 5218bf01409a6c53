//! The blast radius: the intruder's reads among the logged statements, requests and file
//! accesses, each worked out ([`crate::sql`]) and counted in people against the data map, the
//! snapshots or the database, exactly where the read can be evaluated faithfully and as a
//! labelled bound where it cannot.

use crate::join;
use crate::map::{DataMap, Table, glob};
use crate::snapshot::Snapshot;
use crate::sql::{Analysis, AsOf, Columns, Read, analyse};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Nanosecond times are written as RFC 3339 text.
fn rfc3339<S: serde::Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&dwell_core::time::format(*t))
}

fn rfc3339_opt<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&dwell_core::time::format(*t)),
        None => s.serialize_none(),
    }
}

/// One logged statement, as the logs gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    /// When.
    pub time: i64,
    /// The database role (or application user).
    pub principal: String,
    /// The client address, without its port.
    pub client: Option<String>,
    /// The session (`session_id`).
    pub session: Option<String>,
    /// pgaudit's statement id within the session.
    pub statement_id: Option<String>,
    /// The SQL text.
    pub statement: String,
    /// Rows, where the log says (pgaudit's `log_rows`).
    pub rows: Option<u64>,
    /// The input, as outputs name it.
    pub source: String,
    /// The line or record.
    pub record: u64,
}

/// An access that is not SQL: a request to an application, or a file opened.
#[derive(Debug, Clone, PartialEq)]
pub struct Touch {
    /// When.
    pub time: i64,
    /// Who (the application's user, or the Windows account).
    pub principal: String,
    /// The client address, when the log names one.
    pub client: Option<String>,
    /// The host that logged it (file access).
    pub host: Option<String>,
    /// What was touched.
    pub what: Touched,
    /// The input, as outputs name it.
    pub source: String,
    /// The line or record.
    pub record: u64,
}

/// What a [`Touch`] touched.
#[derive(Debug, Clone, PartialEq)]
pub enum Touched {
    /// A request to the map's application `app` for `route`, returning the records `ids`
    /// (None: the log does not name them).
    Request {
        /// Index into the map's applications.
        app: usize,
        /// The route, without its query string.
        route: String,
        /// The ids of the records returned, when logged.
        ids: Option<Vec<String>>,
    },
    /// A file, and how it was touched (`read`, `created`, `deleted`).
    File {
        /// Its path.
        path: String,
        /// How.
        access: String,
    },
}

/// Whose reads count: accounts, client addresses and hosts (a list empty: any), in a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Principals {
    /// Account names (their user part, lower case).
    pub accounts: Vec<String>,
    /// Client addresses.
    pub addresses: Vec<String>,
    /// Hosts: a file access on one of them counts when no account is given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// From (inclusive).
    #[serde(serialize_with = "rfc3339_opt")]
    pub from: Option<i64>,
    /// To (inclusive).
    #[serde(serialize_with = "rfc3339_opt")]
    pub to: Option<i64>,
}

/// The user part of an account name, lower case (`NORTHGATE\x`, `x@corp` → `x`).
pub fn user_part(a: &str) -> String {
    let a = a.rsplit('\\').next().unwrap_or(a);
    a.split('@').next().unwrap_or(a).trim().to_lowercase()
}

impl Principals {
    /// Whether a logged statement is theirs.
    pub fn holds(&self, l: &Logged) -> bool {
        self.from.is_none_or(|f| l.time >= f)
            && self.to.is_none_or(|t| l.time <= t)
            && (self.accounts.is_empty() || self.accounts.contains(&user_part(&l.principal)))
            && (self.addresses.is_empty()
                || l.client
                    .as_ref()
                    .is_some_and(|c| self.addresses.contains(c)))
    }

    /// Whether a request or file access is theirs: the account when any is given, and the
    /// client address when the log names one; a file access (no client) on one of the hosts
    /// when no account is given.
    pub fn holds_touch(&self, t: &Touch) -> bool {
        let host = |h: &str| {
            let short = |x: &str| x.split('.').next().unwrap_or(x).to_ascii_lowercase();
            self.hosts.iter().any(|x| short(x) == short(h))
        };
        self.from.is_none_or(|f| t.time >= f)
            && self.to.is_none_or(|to| t.time <= to)
            && (self.accounts.is_empty() || self.accounts.contains(&user_part(&t.principal)))
            && match (&t.client, &t.host) {
                (Some(c), _) => self.addresses.is_empty() || self.addresses.contains(c),
                (None, h) => !self.accounts.is_empty() || h.as_deref().is_some_and(host),
            }
    }
}

/// A bound where an access could not be evaluated exactly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bound {
    /// Index into `accesses`.
    pub access: usize,
    /// Why it is only a bound.
    pub why: String,
    /// At least this many people (beyond the exact set, none can be claimed).
    pub lower: u64,
    /// At most this many, when known.
    pub upper: Option<u64>,
}

/// A read the principals made the same way, day after day, since before the window: their
/// routine (a nightly export job), set aside and listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Routine {
    /// Who.
    pub principal: String,
    /// From where.
    pub client: Option<String>,
    /// The statement.
    pub statement: String,
    /// On how many days it was logged.
    pub days: usize,
    /// Its first time.
    #[serde(serialize_with = "rfc3339")]
    pub first: i64,
    /// Its times within the window, set aside.
    pub in_window: usize,
}

/// A statement's shape: who (user part), from where, the SQL with its spacing folded.
type Shape = (String, Option<String>, String);

/// A read shape recurring on this many days, beginning before the window, is routine.
pub const ROUTINE_DAYS: usize = 3;

/// One of the intruder's statements, requests or file accesses, and what it read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Access {
    /// When.
    #[serde(serialize_with = "rfc3339")]
    pub time: i64,
    /// `sql`, `request` or `file`.
    pub kind: &'static str,
    /// Who.
    pub principal: String,
    /// From where.
    pub client: Option<String>,
    /// The host that logged it (file access).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Its session.
    pub session: Option<String>,
    /// The statement, the request (`shop-admin /admin/customers/42`) or the file access
    /// (`read C:\Shares\HR\payroll.xlsx`).
    pub statement: String,
    /// Tables of people it read, with the columns (`*` for all).
    pub tables: BTreeMap<String, Vec<String>>,
    /// The file it touched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Categories of personal data it returned.
    pub categories: Vec<String>,
    /// Rows it returned, where known (evaluated, or from the log when trustworthy).
    pub rows: Option<u64>,
    /// People it read, where evaluated exactly.
    pub people: Option<u64>,
    /// `exact`, `bound`, `refused` (not a read: never evaluated) or `not evaluable`.
    pub evaluation: String,
    /// Why, when not exact.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub why: String,
    /// The log it came from.
    pub source: String,
    /// Its line or record.
    pub record: u64,
}

/// The answer: whose data the principals read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scope {
    /// Version of this document's shape.
    pub version: u32,
    /// Whose reads these are.
    pub principals: Principals,
    /// Distinct people whose data was read, from the exactly evaluated reads.
    pub people_affected: u64,
    /// Rows of personal-data tables returned by the exactly evaluated reads.
    pub records_affected: u64,
    /// Category → distinct people.
    pub people_by_category: BTreeMap<String, u64>,
    /// Every access was evaluated exactly (no bound, nothing refused or unparsed).
    pub exact: bool,
    /// What could only be bounded.
    pub bounds: Vec<Bound>,
    /// At most this many people, counting every bound (None when a bound has no upper).
    pub people_upper: Option<u64>,
    /// The principals' statements that touched tables of people, in time order.
    pub accesses: Vec<Access>,
    /// Their statements that touched no table of people.
    pub other_statements: usize,
    /// Events of theirs without a time: not placed in the window, not evaluated.
    pub undated: u64,
    /// Relations their reads touched that the data map does not list (system catalogs
    /// aside), with how many reads: a view or table of people missing from the map shows here.
    pub unmapped: BTreeMap<String, u64>,
    /// Their routine, set aside: reads they made the same way since before the window.
    pub routine: Vec<Routine>,
    /// The people whose credentials were read: their accounts are to be reset.
    pub credentials_exposed: Credentials,
    /// What the figures can and cannot say, given how the data was evaluated.
    pub caveats: Vec<String>,
    /// The first and last access to personal data.
    #[serde(serialize_with = "rfc3339_opt")]
    pub first_access: Option<i64>,
    /// The last.
    #[serde(serialize_with = "rfc3339_opt")]
    pub last_access: Option<i64>,
    /// The people read, by key, with their categories (for `--keys`; not in the document).
    #[serde(skip)]
    pub keys: BTreeMap<String, BTreeSet<String>>,
}

/// Credentials read: whose, which, and the accesses that exposed credentials of people they
/// do not name (a file of password hashes).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Credentials {
    /// Distinct people whose credentials were read (`--resets` lists them).
    pub people: u64,
    /// Credential category → distinct people.
    pub by_category: BTreeMap<String, u64>,
    /// Accesses (indexes into `accesses`) that exposed credentials of people not named.
    pub unkeyed: Vec<usize>,
    /// The people, by key (for `--resets`; not in the document).
    #[serde(skip)]
    pub keys: BTreeSet<String>,
}

/// pgaudit writes one entry per relation of a statement (and, before pgaudit 17, repeats a
/// multi-statement string on each): one statement is its session and statement id. A line of
/// statement logging has no id: it is its session, time and text. A server that writes csvlog
/// and jsonlog both logs each twice; either way it is one access.
fn dedupe(logged: &[Logged]) -> Vec<&Logged> {
    let mut seen: std::collections::HashSet<(Option<&str>, Option<&str>, i64, &str)> =
        std::collections::HashSet::new();
    logged
        .iter()
        .filter(|l| {
            let key = match &l.statement_id {
                Some(id) => (l.session.as_deref(), Some(id.as_str()), 0, ""),
                None => (l.session.as_deref(), None, l.time, l.statement.as_str()),
            };
            seen.insert(key)
        })
        .collect()
}

/// What the evaluation leaned on, for the caveats.
#[derive(Default)]
struct Leaned {
    /// Some read was run again on the database.
    db: bool,
    /// Some read was evaluated against snapshots.
    snapshot: bool,
    /// The tables of people read exactly.
    tables: BTreeSet<String>,
}

/// Works out the principals' reads among the logged statements and the requests and file
/// accesses (`touches`), in time order.
pub fn scope(
    logged: &[Logged],
    touches: &[Touch],
    who: &Principals,
    map: &DataMap,
    snapshots: &HashMap<String, Snapshot>,
    mut db: Option<&mut dyn crate::db::Keys>,
) -> Scope {
    let mut out = Scope {
        version: 2,
        principals: who.clone(),
        people_affected: 0,
        records_affected: 0,
        people_by_category: BTreeMap::new(),
        exact: true,
        bounds: Vec::new(),
        people_upper: Some(0),
        accesses: Vec::new(),
        other_statements: 0,
        undated: 0,
        unmapped: BTreeMap::new(),
        routine: Vec::new(),
        credentials_exposed: Credentials::default(),
        caveats: Vec::new(),
        first_access: None,
        last_access: None,
        keys: BTreeMap::new(),
    };
    // The shapes of every statement in the logs, window or not: who, from where, what.
    const DAY: i64 = 86_400 * 1_000_000_000;
    let shape = |l: &Logged| {
        (
            user_part(&l.principal),
            l.client.clone(),
            l.statement.split_whitespace().collect::<Vec<_>>().join(" "),
        )
    };
    let mut shapes: HashMap<Shape, (BTreeSet<i64>, i64)> = HashMap::new();
    for l in logged {
        let e = shapes.entry(shape(l)).or_insert((BTreeSet::new(), l.time));
        e.0.insert(l.time.div_euclid(DAY));
        e.1 = e.1.min(l.time);
    }
    let routine = |l: &Logged| {
        let from = who.from.unwrap_or(i64::MIN);
        shapes
            .get(&shape(l))
            .filter(|(days, first)| days.len() >= ROUTINE_DAYS && *first < from)
    };
    let mut set_aside: BTreeMap<Shape, Routine> = BTreeMap::new();
    let theirs: Vec<Logged> = logged
        .iter()
        .filter(|l| who.holds(l))
        .filter(|l| match routine(l) {
            Some((days, first)) => {
                let k = shape(l);
                set_aside
                    .entry(k.clone())
                    .or_insert_with(|| Routine {
                        principal: l.principal.clone(),
                        client: l.client.clone(),
                        statement: k.2.clone(),
                        days: days.len(),
                        first: *first,
                        in_window: 0,
                    })
                    .in_window += 1;
                false
            }
            None => true,
        })
        .cloned()
        .collect();
    out.routine = set_aside.into_values().collect();
    // Statements and touches together, in time order, so that accesses are.
    enum Item<'a> {
        Sql(&'a Logged),
        Touch(&'a Touch),
    }
    let mut items: Vec<(i64, Item<'_>)> = dedupe(&theirs)
        .into_iter()
        .map(|l| (l.time, Item::Sql(l)))
        .chain(
            touches
                .iter()
                .filter(|t| who.holds_touch(t))
                .map(|t| (t.time, Item::Touch(t))),
        )
        .collect();
    items.sort_by_key(|(t, _)| *t);
    let mut leaned = Leaned::default();
    for (_, item) in items {
        match item {
            Item::Sql(l) => sql_access(&mut out, &mut leaned, l, map, snapshots, db.as_deref_mut()),
            Item::Touch(t) => touch_access(&mut out, &mut leaned, t, map, snapshots),
        }
    }
    out.people_affected = out.keys.len() as u64;
    for (k, cats) in &out.keys {
        let mut credential = false;
        for c in cats {
            *out.people_by_category.entry(c.clone()).or_default() += 1;
            if map.is_credential(c) {
                credential = true;
                *out.credentials_exposed
                    .by_category
                    .entry(c.clone())
                    .or_default() += 1;
            }
        }
        if credential {
            out.credentials_exposed.keys.insert(k.clone());
        }
    }
    out.credentials_exposed.people = out.credentials_exposed.keys.len() as u64;
    out.credentials_exposed.unkeyed = out
        .accesses
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            a.evaluation != "exact"
                && a.evaluation != "refused"
                && a.categories.iter().any(|c| map.is_credential(c))
        })
        .map(|(k, _)| k)
        .collect();
    out.people_upper = out
        .bounds
        .iter()
        .try_fold(out.people_affected, |acc, b| b.upper.map(|u| acc + u));
    out.caveats = caveats(&leaned, map);
    out
}

/// What changes to the data since the accesses mean for the figures.
fn caveats(leaned: &Leaned, map: &DataMap) -> Vec<String> {
    let mut c = Vec::new();
    if leaned.db {
        c.push(
            "Reads run again on the database see it as it is now: rows deleted since an access are not counted, and rows changed since are judged by their current values.".to_string(),
        );
    }
    if leaned.snapshot {
        c.push(
            "Reads evaluated against snapshots see the data as exported: rows deleted or changed between an access and the export are judged as the export has them.".to_string(),
        );
    }
    for t in &leaned.tables {
        match map.tables.get(t).and_then(|x| x.created.as_deref()) {
            Some(col) => c.push(format!(
                "Rows of {t} created after an access are left out ({col})."
            )),
            None => c.push(format!(
                "{t} has no creation-time column in the data map: rows created after an access would be counted as read by it."
            )),
        }
    }
    c
}

/// The table's columns of these categories.
fn columns_of(table: &Table, categories: &[String]) -> Vec<String> {
    table
        .columns
        .iter()
        .filter(|(_, c)| categories.contains(c))
        .map(|(col, _)| col.clone())
        .collect()
}

/// A request or a file access of the principals, counted.
fn touch_access(
    out: &mut Scope,
    leaned: &mut Leaned,
    t: &Touch,
    map: &DataMap,
    snapshots: &HashMap<String, Snapshot>,
) {
    let mut a = Access {
        time: t.time,
        kind: "request",
        principal: t.principal.clone(),
        client: t.client.clone(),
        host: t.host.clone(),
        session: None,
        statement: String::new(),
        tables: BTreeMap::new(),
        file: None,
        categories: Vec::new(),
        rows: None,
        people: None,
        evaluation: String::new(),
        why: String::new(),
        source: t.source.clone(),
        record: t.record,
    };
    match &t.what {
        Touched::Request { app, route, ids } => {
            let Some(app) = map.applications.get(*app) else {
                return;
            };
            let Some(r) = app.routes.iter().find(|r| glob(&r.route, route)) else {
                out.other_statements += 1;
                return;
            };
            a.statement = format!("{} {route}", app.name);
            if let Some(table) = map.tables.get(&r.table) {
                a.tables
                    .insert(r.table.clone(), columns_of(table, &r.categories));
            }
            a.categories = r.categories.clone();
            match ids {
                Some(ids) => {
                    let people: BTreeSet<&String> = ids.iter().filter(|k| !k.is_empty()).collect();
                    for k in &people {
                        out.keys
                            .entry(k.to_string())
                            .or_default()
                            .extend(r.categories.iter().cloned());
                    }
                    a.rows = Some(ids.len() as u64);
                    a.people = Some(people.len() as u64);
                    a.evaluation = "exact".into();
                    a.why = "the access log names the records returned".into();
                    out.records_affected += ids.len() as u64;
                    leaned.tables.insert(r.table.clone());
                    push(out, a);
                }
                None => {
                    let upper = snapshots.get(&r.table).map(|s| s.len() as u64);
                    bound(
                        out,
                        &mut a,
                        &format!(
                            "the access log does not name the records {} returned",
                            app.name
                        ),
                        0,
                        upper,
                    );
                }
            }
        }
        Touched::File { path, access } => {
            let Some(f) = map.file(path) else {
                out.other_statements += 1;
                return;
            };
            a.kind = "file";
            a.statement = format!("{access} {path}");
            a.file = Some(path.clone());
            a.categories = f.categories.clone();
            a.categories.sort();
            let why = match f.people {
                Some(n) => format!(
                    "a file of {n} people ({access}): they are not named, so they cannot be told apart from the people counted exactly"
                ),
                None => format!(
                    "a file of personal data ({access}): the data map does not say how many people it holds"
                ),
            };
            bound(out, &mut a, &why, 0, f.people);
        }
    }
}

/// One of the principals' statements, worked out and counted.
fn sql_access<'d>(
    out: &mut Scope,
    leaned: &mut Leaned,
    l: &Logged,
    map: &DataMap,
    snapshots: &HashMap<String, Snapshot>,
    db: Option<&mut (dyn crate::db::Keys + 'd)>,
) {
    let mut a = Access {
        time: l.time,
        kind: "sql",
        principal: l.principal.clone(),
        client: l.client.clone(),
        host: None,
        session: l.session.clone(),
        statement: l.statement.clone(),
        tables: BTreeMap::new(),
        file: None,
        categories: Vec::new(),
        rows: None,
        people: None,
        evaluation: String::new(),
        why: String::new(),
        source: l.source.clone(),
        record: l.record,
    };
    let read = match analyse(&l.statement) {
        Analysis::Read(r) => r,
        Analysis::NoData => {
            out.other_statements += 1;
            return;
        }
        Analysis::Refused(why) => {
            // A write names tables too, but it is never evaluated; it is listed when it
            // names a table of people.
            if !map.tables.keys().any(|t| {
                let short = t.rsplit('.').next().unwrap_or(t);
                l.statement.to_ascii_lowercase().contains(short)
            }) {
                out.other_statements += 1;
                return;
            }
            a.evaluation = "refused".into();
            a.why = format!("{why}: dwell evaluates reads only");
            out.exact = false;
            push(out, a);
            return;
        }
        Analysis::Unparsed(why) => {
            a.evaluation = "not evaluable".into();
            a.why = format!("the SQL could not be parsed: {why}");
            out.exact = false;
            push(out, a);
            return;
        }
    };
    // The tables of people it touched, and the categories it returned of each.
    let mut personal: Vec<(String, &Table, BTreeSet<String>)> = Vec::new();
    for t in &read.tables {
        let Some((key, table)) = map.table(&t.table) else {
            continue;
        };
        let (cols, cats): (Vec<String>, BTreeSet<String>) = match &t.columns {
            Columns::All => (
                vec!["*".to_string()],
                table.columns.values().cloned().collect(),
            ),
            Columns::Named(c) => (
                c.iter().cloned().collect(),
                c.iter()
                    .filter_map(|c| table.columns.get(c).cloned())
                    .collect(),
            ),
        };
        a.tables.insert(key.to_string(), cols);
        for c in &cats {
            if !a.categories.contains(c) {
                a.categories.push(c.clone());
            }
        }
        personal.push((key.to_string(), table, cats));
    }
    for t in &read.tables {
        let system = t.table.starts_with("pg_catalog.")
            || t.table.starts_with("information_schema.")
            || t.table.starts_with("public.pg_");
        if !system && map.table(&t.table).is_none() {
            *out.unmapped.entry(t.table.clone()).or_default() += 1;
        }
    }
    if personal.is_empty() {
        out.other_statements += 1;
        return;
    }
    a.categories.sort();
    let created = |t: &str| map.tables.get(t).and_then(|x| x.created.clone());
    let as_of = AsOf {
        time: l.time,
        created: &created,
    };
    // With the database at hand: the read run again, rewritten to return each table's
    // person column, exactly (joins and all), unless it cannot be re-run faithfully.
    let mut db_why = None;
    if let Some(db) = db {
        match by_database(db, &read, &personal, &as_of) {
            Ok(keys) => {
                let rows = keys.iter().map(Vec::len).max().unwrap_or(0);
                let mut people: BTreeSet<&str> = BTreeSet::new();
                for (got, (key, _, cats)) in keys.iter().zip(&personal) {
                    if cats.is_empty() {
                        continue;
                    }
                    leaned.tables.insert(key.clone());
                    for k in got.iter().flatten() {
                        people.insert(k);
                        out.keys
                            .entry(k.clone())
                            .or_default()
                            .extend(cats.iter().cloned());
                    }
                }
                a.rows = Some(rows as u64);
                a.people = Some(people.len() as u64);
                a.evaluation = "exact".into();
                a.why = "run again on the database, returning only the person keys".into();
                if !a.categories.is_empty() {
                    out.records_affected += rows as u64;
                }
                leaned.db = true;
                push(out, a);
                return;
            }
            Err(why) => db_why = Some(why),
        }
    }
    let also = |w: &str| match &db_why {
        Some(d) => format!("{w}; {d}"),
        None => w.to_string(),
    };
    // At most: per table of people read, the log's rows where trustworthy, else its size.
    let trusted_rows = l.rows.filter(|_| !read.copy);
    let read_personal: Vec<&(String, &Table, BTreeSet<String>)> =
        personal.iter().filter(|(_, _, c)| !c.is_empty()).collect();
    let upper = match trusted_rows {
        Some(r) => Some(r * read_personal.len().max(1) as u64),
        None => read_personal
            .iter()
            .map(|(k, _, _)| snapshots.get(k).map(|s| s.len() as u64))
            .sum(),
    };
    match by_snapshots(&read, map, snapshots, l.time) {
        // It returned no personal column (`count(*)`): the rows were touched, no one's
        // data left.
        Ok((_, tuples)) if a.categories.is_empty() => {
            a.rows = Some(tuples.len() as u64);
            a.people = Some(0);
            a.evaluation = "exact".into();
            a.why = "returned no personal-data column".into();
            push(out, a);
        }
        Ok((j, tuples)) if read.limit.is_none() => {
            let mut people: BTreeSet<&str> = BTreeSet::new();
            for (key, table, cats) in &read_personal {
                leaned.tables.insert(key.clone());
                let snap = &snapshots[key];
                for (k, _) in j.tables.iter().enumerate().filter(|(_, (t, _))| t == key) {
                    for tu in &tuples {
                        let Some(p) = tu[k]
                            .and_then(|r| snap.value_at(r as usize, &table.person))
                            .filter(|p| !p.is_empty())
                        else {
                            continue;
                        };
                        people.insert(p);
                        out.keys
                            .entry(p.to_string())
                            .or_default()
                            .extend(cats.iter().cloned());
                    }
                }
            }
            a.rows = Some(tuples.len() as u64);
            a.people = Some(people.len() as u64);
            a.evaluation = "exact".into();
            if j.tables.len() > 1 {
                a.why = "joined on the snapshots".into();
            }
            out.records_affected += tuples.len() as u64;
            leaned.snapshot = true;
            push(out, a);
        }
        Ok((_, tuples)) => {
            let n = read
                .limit
                .map_or(tuples.len(), |l| tuples.len().min(l as usize)) as u64;
            bound(
                out,
                &mut a,
                &also(if read.ordered {
                    "LIMIT with ORDER BY: which rows come first is PostgreSQL's order, not evaluated"
                } else {
                    "LIMIT without ORDER BY: which rows PostgreSQL returned is not in the log"
                }),
                0,
                Some(n * read_personal.len().max(1) as u64),
            );
        }
        Err(why) => bound(out, &mut a, &also(&why), 0, upper),
    }
}

/// Each table of people's keys, from the read run again on the database.
fn by_database(
    db: &mut dyn crate::db::Keys,
    read: &Read,
    personal: &[(String, &Table, BTreeSet<String>)],
    as_of: &AsOf<'_>,
) -> Result<Vec<Vec<Option<String>>>, String> {
    let mut got = Vec::new();
    for (key, t, _) in personal {
        if t.person.is_empty() {
            return Err(format!(
                "not re-run on the database: the view {key} has no person column"
            ));
        }
        let sql = read.keys_sql(key, &t.person, as_of).ok_or_else(|| {
            "not re-run on the database (a LIMIT, grouping or set operation)".to_string()
        })?;
        got.push(
            db.keys(&sql)
                .map_err(|e| format!("the database could not run it again: {e}"))?,
        );
    }
    Ok(got)
}

/// The rows the read returned, from the snapshots of every table it joins, as they stood at
/// `time` (rows created later left out).
fn by_snapshots<'r>(
    read: &'r Read,
    map: &DataMap,
    snapshots: &HashMap<String, Snapshot>,
    time: i64,
) -> Result<(&'r crate::sql::Join, Vec<join::Tuple>), String> {
    let j = read.join.as_ref().ok_or_else(|| {
        "a sub-query, CTE, grouping or set operation: not evaluated against the snapshots"
            .to_string()
    })?;
    if let Some((t, _)) = j.tables.iter().find(|(t, _)| !snapshots.contains_key(t)) {
        return Err(format!("no snapshot of {t}"));
    }
    let snaps: Vec<&Snapshot> = j.tables.iter().map(|(t, _)| &snapshots[t]).collect();
    let created: Vec<Option<&str>> = j
        .tables
        .iter()
        .map(|(t, _)| map.tables.get(t).and_then(|x| x.created.as_deref()))
        .collect();
    let visible = |k: usize, r: usize| -> Result<bool, String> {
        let Some(c) = created[k] else {
            return Ok(true);
        };
        match snaps[k].value_at(r, c) {
            None => Err(format!(
                "the snapshot of {} has no column {c}, its creation time",
                j.tables[k].0
            )),
            Some("") => Ok(true),
            Some(v) => dwell_core::time::parse(v)
                .map(|at| at <= time)
                .ok_or_else(|| {
                    format!(
                        "{c} '{v}' in the snapshot of {} is not a time",
                        j.tables[k].0
                    )
                }),
        }
    };
    let tuples =
        join::rows(j, &snaps, &visible).map_err(|e| format!("the filter is not evaluable: {e}"))?;
    Ok((j, tuples))
}

fn push(out: &mut Scope, a: Access) {
    out.first_access = Some(out.first_access.map_or(a.time, |t| t.min(a.time)));
    out.last_access = Some(out.last_access.map_or(a.time, |t| t.max(a.time)));
    out.accesses.push(a);
}

fn bound(out: &mut Scope, a: &mut Access, why: &str, lower: u64, upper: Option<u64>) {
    a.evaluation = "bound".into();
    a.why = why.to_string();
    a.rows = upper;
    out.exact = false;
    out.bounds.push(Bound {
        access: out.accesses.len(),
        why: why.to_string(),
        lower,
        upper,
    });
    push(out, a.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged(t: i64, who: &str, client: &str, id: &str, sql: &str) -> Logged {
        Logged {
            time: t,
            principal: who.into(),
            client: Some(client.into()),
            session: Some("s1".into()),
            statement_id: Some(id.into()),
            statement: sql.into(),
            rows: Some(0),
            source: "pg.csv".into(),
            record: t as u64,
        }
    }

    fn estate() -> (DataMap, HashMap<String, Snapshot>) {
        let map = DataMap::parse(
            "tables:\n  public.customers:\n    person: customer_id\n    columns: {email: email, first_name: name, phone: phone}\n  public.orders:\n    person: customer_id\n    columns: {items_json: order_history}\n",
        )
        .unwrap();
        let mut customers = String::from("customer_id,first_name,email,phone\n");
        for k in 1..=100 {
            customers += &format!("{k},n{k},e{k}@x,0770{k}\n");
        }
        let mut orders = String::from("order_id,customer_id,items_json\n");
        for k in 1..=100 {
            orders += &format!("{},{},[]\n", 9000 + k, (k + 1) / 2);
        }
        let snaps = [
            (
                "public.customers".to_string(),
                Snapshot::parse(&customers).unwrap(),
            ),
            (
                "public.orders".to_string(),
                Snapshot::parse(&orders).unwrap(),
            ),
        ]
        .into_iter()
        .collect();
        (map, snaps)
    }

    #[test]
    fn the_intruders_reads_are_counted_in_people_exactly_and_bounded_where_they_must_be() {
        let (map, snaps) = estate();
        let log = vec![
            // The application's keyed read: not the intruder's.
            logged(
                1,
                "svc_orders",
                "10.0.0.5",
                "1",
                "SELECT items_json FROM orders WHERE customer_id = $1",
            ),
            logged(
                2,
                "svc_reports",
                "10.10.30.23",
                "1",
                "SELECT * FROM public.customers LIMIT 5",
            ),
            logged(
                3,
                "svc_reports",
                "10.10.30.23",
                "2",
                "COPY (SELECT customer_id, email FROM public.customers WHERE customer_id BETWEEN 11 AND 30) TO STDOUT",
            ),
            // The same statement's second pgaudit entry: one access.
            logged(
                3,
                "svc_reports",
                "10.10.30.23",
                "2",
                "COPY (SELECT customer_id, email FROM public.customers WHERE customer_id BETWEEN 11 AND 30) TO STDOUT",
            ),
            logged(
                4,
                "svc_reports",
                "10.10.30.23",
                "3",
                "COPY (SELECT order_id, customer_id, items_json FROM orders WHERE customer_id BETWEEN 21 AND 40) TO STDOUT",
            ),
            logged(
                5,
                "svc_reports",
                "10.10.30.23",
                "4",
                "DELETE FROM customers WHERE customer_id = 1",
            ),
            logged(6, "svc_reports", "10.10.30.23", "5", "SELECT now()"),
            // The nightly job as the same role from its own server: not the intruder's.
            logged(
                7,
                "svc_reports",
                "10.10.50.9",
                "1",
                "COPY public.customers TO STDOUT",
            ),
        ];
        let who = Principals {
            accounts: vec!["svc_reports".into()],
            addresses: vec!["10.10.30.23".into()],
            hosts: Vec::new(),
            from: None,
            to: None,
        };
        let s = scope(&log, &[], &who, &map, &snaps, None);
        let evals: Vec<&str> = s.accesses.iter().map(|a| a.evaluation.as_str()).collect();
        assert_eq!(evals, ["bound", "exact", "exact", "refused"]);
        // Customers 11-30 (email); orders of customers 21-40 (order_history).
        assert_eq!(s.people_affected, 30);
        assert_eq!(s.people_by_category["email"], 20);
        assert_eq!(s.people_by_category["order_history"], 20);
        assert_eq!(s.records_affected, 20 + 40);
        assert!(!s.exact);
        assert_eq!(s.bounds[0].upper, Some(5));
        assert_eq!(s.people_upper, Some(35));
        assert_eq!(s.accesses[0].categories, ["email", "name", "phone"]);
        assert_eq!(s.other_statements, 1);
        assert_eq!(
            s.keys["21"],
            ["email", "order_history"]
                .iter()
                .map(|x| x.to_string())
                .collect()
        );
    }
}

#[cfg(test)]
mod more {
    use super::*;

    fn map() -> DataMap {
        DataMap::parse(
            "tables:\n  customers:\n    person: customer_id\n    created: created_at\n    columns: {email: email, pw: password_hash}\n  orders:\n    person: customer_id\n    columns: {items: order_history}\nfiles:\n  - {path: 'C:\\Shares\\HR\\*.xlsx', categories: [name, salary], people: 40}\napplications:\n  - name: admin\n    principal: user\n    client: ip\n    route: path\n    records: ids\n    routes:\n      - {route: '/customers/*', table: customers, categories: [email]}\n",
        )
        .unwrap()
    }

    fn snaps() -> HashMap<String, Snapshot> {
        let mut c = String::from("customer_id,email,pw,created_at\n");
        for k in 1..=10 {
            // Customers 9 and 10 joined after the accesses.
            let at = if k > 8 {
                "2026-03-01 00:00:00+00"
            } else {
                "2026-01-01 00:00:00+00"
            };
            c += &format!("{k},e{k},h{k},{at}\n");
        }
        let o = "order_id,customer_id,items\n1,2,a\n2,2,b\n3,5,c\n4,9,d\n";
        [
            ("public.customers".to_string(), Snapshot::parse(&c).unwrap()),
            ("public.orders".to_string(), Snapshot::parse(o).unwrap()),
        ]
        .into_iter()
        .collect()
    }

    fn sql(t: i64, q: &str) -> Logged {
        Logged {
            time: t,
            principal: "mallory".into(),
            client: Some("10.0.0.9".into()),
            session: Some("s".into()),
            statement_id: Some(t.to_string()),
            statement: q.into(),
            rows: None,
            source: "pg.csv".into(),
            record: t as u64,
        }
    }

    #[test]
    fn joins_creation_times_requests_files_and_credentials_are_counted() {
        let feb = dwell_core::time::parse("2026-02-01T00:00:00Z").unwrap();
        let log = [
            sql(
                feb,
                "SELECT c.email, o.items FROM customers c JOIN orders o ON o.customer_id = c.customer_id",
            ),
            sql(feb + 1, "COPY customers (customer_id, pw) TO STDOUT"),
        ];
        let touches = [
            Touch {
                time: feb + 2,
                principal: "mallory".into(),
                client: Some("10.0.0.9".into()),
                host: None,
                what: Touched::Request {
                    app: 0,
                    route: "/customers/7".into(),
                    ids: Some(vec!["7".into()]),
                },
                source: "app.jsonl".into(),
                record: 3,
            },
            // Someone else's request: not theirs.
            Touch {
                time: feb + 3,
                principal: "alice".into(),
                client: Some("10.0.0.2".into()),
                host: None,
                what: Touched::Request {
                    app: 0,
                    route: "/customers/1".into(),
                    ids: Some(vec!["1".into()]),
                },
                source: "app.jsonl".into(),
                record: 4,
            },
            Touch {
                time: feb + 4,
                principal: "CORP\\mallory".into(),
                client: None,
                host: Some("fs01".into()),
                what: Touched::File {
                    path: "c:\\shares\\hr\\pay.XLSX".into(),
                    access: "read".into(),
                },
                source: "Security.evtx".into(),
                record: 5,
            },
        ];
        let who = Principals {
            accounts: vec!["mallory".into()],
            addresses: vec!["10.0.0.9".into()],
            ..Default::default()
        };
        let s = scope(&log, &touches, &who, &map(), &snaps(), None);
        let kinds: Vec<(&str, &str)> = s
            .accesses
            .iter()
            .map(|a| (a.kind, a.evaluation.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("sql", "exact"),
                ("sql", "exact"),
                ("request", "exact"),
                ("file", "bound")
            ]
        );
        // The join: customers 2 and 5 (9 joined later, so its order met no customer then).
        assert_eq!(s.accesses[0].people, Some(2));
        assert_eq!(s.accesses[0].rows, Some(3));
        // The hashes of customers 1-8, not of 9 and 10, who did not exist yet.
        assert_eq!(s.credentials_exposed.people, 8);
        assert_eq!(s.credentials_exposed.by_category["password_hash"], 8);
        assert!(!s.credentials_exposed.keys.contains("9"));
        assert_eq!(s.people_by_category["email"], 3, "2, 5 and 7");
        assert_eq!(s.people_by_category["order_history"], 2);
        assert_eq!(s.people_affected, 8, "1-8: 2, 5 and 7 are among them");
        assert_eq!(s.bounds.len(), 1);
        assert_eq!(s.bounds[0].upper, Some(40));
        assert_eq!(s.people_upper, Some(48));
        assert!(
            s.caveats
                .iter()
                .any(|c| c.contains("public.orders has no creation-time"))
        );
        assert!(s.caveats.iter().any(|c| c.contains("created_at")));
    }
}
