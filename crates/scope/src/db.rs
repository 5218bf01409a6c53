//! The database path of `scope`: each read the intruder ran, rewritten by dwell to return
//! only the person column of a table of people (see [`crate::sql::Read::keys_sql`]), run
//! again on the database. The session is read-only by construction: the connection asks for
//! `default_transaction_read_only` and a statement timeout, every query runs in a `READ ONLY`
//! transaction that is rolled back, and a query is only sent when dwell's parser reads it back
//! as one `SELECT`. Credentials never appear in messages.

use crate::contacts::Lookup;
use crate::map::{DataMap, Table};
use crate::sql::{Analysis, analyse};
use std::collections::BTreeMap;

/// Where person keys come from when a read is run again.
pub trait Keys {
    /// The rows `sql` returns, each the person key as text (None for NULL).
    fn keys(&mut self, sql: &str) -> Result<Vec<Option<String>>, String>;
}

/// A read-only session on a PostgreSQL database.
pub struct Database {
    client: postgres::Client,
}

/// How long one re-run read may take.
pub const STATEMENT_TIMEOUT_MS: u64 = 60_000;

impl Database {
    /// Connects to `url` (`postgres://user@host:port/db` or key=value form).
    pub fn connect(url: &str) -> Result<Database, String> {
        let mut cfg: postgres::Config = url
            .parse()
            .map_err(|e| format!("--db is not a PostgreSQL connection string: {e}"))?;
        cfg.options(&format!(
            "-c default_transaction_read_only=on -c statement_timeout={STATEMENT_TIMEOUT_MS}"
        ));
        cfg.application_name("dwell scope");
        let client = cfg
            .connect(postgres::NoTls)
            .map_err(|e| format!("cannot connect to the database ({}): {e}", target(&cfg)))?;
        Ok(Database { client })
    }
}

/// The user, host and database of a connection, without its password.
fn target(cfg: &postgres::Config) -> String {
    let host = cfg
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(s) => s.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_default();
    format!(
        "{}@{}/{}",
        cfg.get_user().unwrap_or(""),
        host,
        cfg.get_dbname().unwrap_or("")
    )
}

impl Keys for Database {
    fn keys(&mut self, sql: &str) -> Result<Vec<Option<String>>, String> {
        // Only what dwell reads back as one SELECT is ever sent.
        match analyse(sql) {
            Analysis::Read(r) if !r.copy && r.query.is_some() => {}
            other => return Err(format!("not sent to the database: {other:?}")),
        }
        let mut tx = self
            .client
            .build_transaction()
            .read_only(true)
            .start()
            .map_err(|e| e.to_string())?;
        tx.batch_execute(&format!(
            "SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"
        ))
        .map_err(|e| e.to_string())?;
        let rows = tx.query(sql, &[]).map_err(|e| e.to_string())?;
        let keys = rows
            .iter()
            .map(|r| r.try_get::<_, Option<String>>(0).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        tx.rollback().map_err(|e| e.to_string())?;
        Ok(keys)
    }
}

/// `name` as a quoted SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Lookup for Database {
    fn lookup(
        &mut self,
        table: &str,
        person: &str,
        columns: &[String],
        keys: &[String],
    ) -> Result<Vec<Vec<Option<String>>>, String> {
        let (schema, name) = table.split_once('.').unwrap_or(("public", table));
        let cols: Vec<String> = std::iter::once(person)
            .chain(columns.iter().map(String::as_str))
            .map(|c| format!("CAST({} AS text)", ident(c)))
            .collect();
        let sql = format!(
            "SELECT {} FROM {}.{} WHERE CAST({} AS text) = ANY($1)",
            cols.join(", "),
            ident(schema),
            ident(name),
            ident(person)
        );
        // Dwell wrote it, and still only sends it when its parser reads it back as one SELECT.
        match analyse(&sql) {
            Analysis::Read(r) if !r.copy && r.query.is_some() => {}
            other => return Err(format!("not sent to the database: {other:?}")),
        }
        let mut tx = self
            .client
            .build_transaction()
            .read_only(true)
            .start()
            .map_err(|e| e.to_string())?;
        tx.batch_execute(&format!(
            "SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"
        ))
        .map_err(|e| e.to_string())?;
        let rows = tx.query(&sql, &[&keys]).map_err(|e| e.to_string())?;
        let out = rows
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|k| r.try_get::<_, Option<String>>(k).map_err(|e| e.to_string()))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        tx.rollback().map_err(|e| e.to_string())?;
        Ok(out)
    }
}

/// Which base columns each view reads, and which columns it has, from the catalogs (readable
/// by any role, unlike `information_schema.view_column_usage`, which shows only one's own).
const VIEW_USES: &str = "SELECT DISTINCT vn.nspname, v.relname, tn.nspname, t.relname, a.attname \
     FROM pg_catalog.pg_rewrite r \
     JOIN pg_catalog.pg_class v ON v.oid = r.ev_class \
     JOIN pg_catalog.pg_namespace vn ON vn.oid = v.relnamespace \
     JOIN pg_catalog.pg_depend d ON d.objid = r.oid AND d.classid = CAST('pg_rewrite' AS regclass) \
     AND d.refclassid = CAST('pg_class' AS regclass) \
     JOIN pg_catalog.pg_class t ON t.oid = d.refobjid \
     JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace \
     JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid \
     WHERE v.relkind IN ('v', 'm') AND t.oid <> v.oid";

const VIEW_COLUMNS: &str = "SELECT n.nspname, c.relname, a.attname \
     FROM pg_catalog.pg_attribute a \
     JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('v', 'm') AND a.attnum > 0 AND NOT a.attisdropped";

impl Database {
    /// The rows of one of dwell's own catalog queries, as text, in a read-only transaction.
    fn catalog(&mut self, sql: &str) -> Result<Vec<Vec<String>>, String> {
        match analyse(sql) {
            Analysis::Read(r) if !r.copy && r.query.is_some() => {}
            other => return Err(format!("not sent to the database: {other:?}")),
        }
        let mut tx = self
            .client
            .build_transaction()
            .read_only(true)
            .start()
            .map_err(|e| e.to_string())?;
        let rows = tx.query(sql, &[]).map_err(|e| e.to_string())?;
        let out = rows
            .iter()
            .map(|r| (0..r.len()).map(|k| r.get::<_, String>(k)).collect())
            .collect();
        tx.rollback().map_err(|e| e.to_string())?;
        Ok(out)
    }

    /// The views (and materialised views) over tables of people, as tables of people: a view
    /// column named as a mapped column of a base table it reads has that column's category,
    /// and its person column is the base table's, when the view has a column of that name
    /// (else empty: its reads are bounded, not re-run).
    pub fn views(&mut self, map: &DataMap) -> Result<BTreeMap<String, Table>, String> {
        let uses = self.catalog(VIEW_USES)?;
        let columns = self.catalog(VIEW_COLUMNS)?;
        let mut has: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &columns {
            has.entry(format!("{}.{}", r[0], r[1]).to_ascii_lowercase())
                .or_default()
                .push(r[2].to_ascii_lowercase());
        }
        let mut out: BTreeMap<String, Table> = BTreeMap::new();
        for r in &uses {
            let view = format!("{}.{}", r[0], r[1]).to_ascii_lowercase();
            let base = format!("{}.{}", r[2], r[3]).to_ascii_lowercase();
            let Some(t) = map.tables.get(&base) else {
                continue;
            };
            if map.tables.contains_key(&view) {
                // The data map's own word on it stands.
                continue;
            }
            let cols = has.get(&view).cloned().unwrap_or_default();
            let v = out.entry(view).or_insert_with(|| Table {
                person: String::new(),
                columns: BTreeMap::new(),
                created: None,
            });
            if v.person.is_empty() && cols.contains(&t.person) {
                v.person = t.person.clone();
            }
            let used = r[4].to_ascii_lowercase();
            if let Some(cat) = t.columns.get(&used)
                && cols.contains(&used)
            {
                v.columns.insert(used, cat.clone());
            }
        }
        Ok(out)
    }
}
