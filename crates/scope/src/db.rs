//! The database path of `scope`: each read the intruder ran, rewritten by dwell to return
//! only the person column of a table of people (see [`crate::sql::Read::keys_sql`]), run
//! again on the database. The session is read-only by construction: the connection asks for
//! `default_transaction_read_only` and a statement timeout, every query runs in a `READ ONLY`
//! transaction that is rolled back, and a query is only sent when dwell's parser reads it back
//! as one `SELECT`. Credentials never appear in messages.

use crate::sql::{Analysis, analyse};

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
