//! The blast radius: the intruder's reads among the logged statements, each worked out
//! ([`crate::sql`]) and counted in people against the data map and the snapshots, exactly where
//! the SQL can be evaluated faithfully and as a labelled bound where it cannot.

use crate::eval::keeps;
use crate::map::DataMap;
use crate::snapshot::Snapshot;
use crate::sql::{Analysis, Columns, analyse};
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

/// Whose reads count: accounts and client addresses (either list empty: any), in a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Principals {
    /// Account names (their user part, lower case).
    pub accounts: Vec<String>,
    /// Client addresses.
    pub addresses: Vec<String>,
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

/// One of the intruder's statements and what it read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Access {
    /// When.
    #[serde(serialize_with = "rfc3339")]
    pub time: i64,
    /// Who.
    pub principal: String,
    /// From where.
    pub client: Option<String>,
    /// Its session.
    pub session: Option<String>,
    /// The statement.
    pub statement: String,
    /// Tables of people it read, with the columns (`*` for all).
    pub tables: BTreeMap<String, Vec<String>>,
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
    /// Their routine, set aside: reads they made the same way since before the window.
    pub routine: Vec<Routine>,
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

/// Works out the principals' reads among `logged` (in time order).
pub fn scope(
    logged: &[Logged],
    who: &Principals,
    map: &DataMap,
    snapshots: &HashMap<String, Snapshot>,
    mut db: Option<&mut dyn crate::db::Keys>,
) -> Scope {
    let mut out = Scope {
        version: 1,
        principals: who.clone(),
        people_affected: 0,
        records_affected: 0,
        people_by_category: BTreeMap::new(),
        exact: true,
        bounds: Vec::new(),
        people_upper: Some(0),
        accesses: Vec::new(),
        other_statements: 0,
        routine: Vec::new(),
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
    for l in dedupe(&theirs) {
        let mut a = Access {
            time: l.time,
            principal: l.principal.clone(),
            client: l.client.clone(),
            session: l.session.clone(),
            statement: l.statement.clone(),
            tables: BTreeMap::new(),
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
                continue;
            }
            Analysis::Refused(why) => {
                // A write names tables too, but it is never evaluated; it is listed when it
                // names a table of people.
                if !map.tables.keys().any(|t| {
                    let short = t.rsplit('.').next().unwrap_or(t);
                    l.statement.to_ascii_lowercase().contains(short)
                }) {
                    out.other_statements += 1;
                    continue;
                }
                a.evaluation = "refused".into();
                a.why = format!("{why}: dwell evaluates reads only");
                out.exact = false;
                push(&mut out, a);
                continue;
            }
            Analysis::Unparsed(why) => {
                a.evaluation = "not evaluable".into();
                a.why = format!("the SQL could not be parsed: {why}");
                out.exact = false;
                push(&mut out, a);
                continue;
            }
        };
        // The tables of people it touched, and the categories it returned.
        let mut personal = Vec::new();
        let mut table_cats: Vec<BTreeSet<String>> = Vec::new();
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
            personal.push((key.to_string(), table));
            table_cats.push(cats);
        }
        if personal.is_empty() {
            out.other_statements += 1;
            continue;
        }
        a.categories.sort();
        // With the database at hand: the read run again, rewritten to return each table's
        // person column, exactly (joins and all), unless it cannot be re-run faithfully.
        let mut db_why = None;
        if let Some(db) = db.as_deref_mut() {
            let sqls: Option<Vec<String>> = personal
                .iter()
                .map(|(key, t)| read.keys_sql(key, &t.person))
                .collect();
            match sqls {
                Some(sqls) => {
                    let mut got: Vec<Vec<Option<String>>> = Vec::new();
                    for q in &sqls {
                        match db.keys(q) {
                            Ok(k) => got.push(k),
                            Err(e) => {
                                db_why = Some(format!("the database could not run it again: {e}"));
                                break;
                            }
                        }
                    }
                    if db_why.is_none() {
                        let rows = got.iter().map(Vec::len).max().unwrap_or(0);
                        let mut people: BTreeSet<&str> = BTreeSet::new();
                        for (keys, cats) in got.iter().zip(&table_cats) {
                            if cats.is_empty() {
                                continue;
                            }
                            for k in keys.iter().flatten() {
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
                        push(&mut out, a);
                        continue;
                    }
                }
                None => {
                    db_why = Some(
                        "not re-run on the database (a LIMIT, grouping or set operation)".into(),
                    )
                }
            }
        }
        // Exactly: a read of one table whose snapshot is at hand, with a filter that can be
        // evaluated and no LIMIT without ORDER BY.
        let snap = match personal.as_slice() {
            [(key, _)] => snapshots.get(key),
            _ => None,
        };
        let trusted_rows = l.rows.filter(|_| !read.copy);
        let also = |w: &str| match &db_why {
            Some(d) => format!("{w}; {d}"),
            None => w.to_string(),
        };
        let reason = if personal.len() > 1 || !read.single {
            Some("a join or sub-query: not evaluated against the snapshot".to_string())
        } else if snap.is_none() {
            Some(format!("no snapshot of {}", personal[0].0))
        } else {
            None
        };
        let mut matched: Option<Result<Vec<usize>, String>> = None;
        if reason.is_none()
            && let Some(s) = snap
        {
            let mut rows = Vec::new();
            let mut err = None;
            for (k, row) in s.iter().enumerate() {
                match read.filter.as_ref().map_or(Ok(true), |f| keeps(f, &row)) {
                    Ok(true) => rows.push(k),
                    Ok(false) => {}
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                }
            }
            matched = Some(match err {
                Some(e) => Err(e),
                None => Ok(rows),
            });
        }
        match (reason, matched) {
            // It returned no personal column (`count(*)`): the rows were touched, no one's
            // data left.
            (None, Some(Ok(rows))) if a.categories.is_empty() => {
                a.rows = Some(rows.len() as u64);
                a.people = Some(0);
                a.evaluation = "exact".into();
                a.why = "returned no personal-data column".into();
                push(&mut out, a);
            }
            (None, Some(Ok(rows))) if read.limit.is_none() => {
                let (_, table) = &personal[0];
                let s = snap.expect("a match needs a snapshot");
                let all: Vec<_> = s.iter().collect();
                let mut people: BTreeSet<&str> = BTreeSet::new();
                for &k in &rows {
                    if let Some(p) = s.value(&all[k], &table.person) {
                        people.insert(p);
                        out.keys
                            .entry(p.to_string())
                            .or_default()
                            .extend(a.categories.iter().cloned());
                    }
                }
                a.rows = Some(rows.len() as u64);
                a.people = Some(people.len() as u64);
                a.evaluation = "exact".into();
                out.records_affected += rows.len() as u64;
                push(&mut out, a);
            }
            (None, Some(Ok(rows))) => {
                let n = read
                    .limit
                    .map_or(rows.len(), |l| rows.len().min(l as usize))
                    as u64;
                bound(
                    &mut out,
                    &mut a,
                    &also(if read.ordered {
                        "LIMIT with ORDER BY: which rows come first is PostgreSQL's order, not evaluated"
                    } else {
                        "LIMIT without ORDER BY: which rows PostgreSQL returned is not in the log"
                    }),
                    0,
                    Some(n),
                );
            }
            (None, Some(Err(e))) => {
                let upper = trusted_rows.or(snap.map(|s| s.rows.len() as u64));
                bound(
                    &mut out,
                    &mut a,
                    &format!("the filter is not evaluable: {e}"),
                    0,
                    upper,
                );
            }
            (reason, _) => {
                // The log's rows where trustworthy, else the snapshot's size.
                let upper = trusted_rows.or(snap.map(|s| s.rows.len() as u64));
                bound(
                    &mut out,
                    &mut a,
                    &also(&reason.unwrap_or_else(|| "not evaluated".into())),
                    0,
                    upper,
                );
            }
        }
    }
    out.people_affected = out.keys.len() as u64;
    for cats in out.keys.values() {
        for c in cats {
            *out.people_by_category.entry(c.clone()).or_default() += 1;
        }
    }
    out.people_upper = out
        .bounds
        .iter()
        .try_fold(out.people_affected, |acc, b| b.upper.map(|u| acc + u));
    out
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
            from: None,
            to: None,
        };
        let s = scope(&log, &who, &map, &snaps, None);
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
