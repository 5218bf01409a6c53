//! The case file: one SQLite database with the detections and their events, the entities
//! they name, the incidents, movements and links, so an analyst can query a case with any
//! SQL tool and dwell can reopen it ([`read`]). The schema is docs/case-file.md;
//! [`SCHEMA_VERSION`] changes whenever it does.
//!
//! A run writes its case under a temporary name of its own beside the final one, and renames
//! it there when complete, so an interrupted run leaves no half case and does not destroy an
//! earlier one. While it writes, it holds an exclusive lock on `CASE.lock`: a second run
//! naming the same case file is refused, so the run that exits 0 always finds its own results.

mod read;
mod schema;

pub use read::{
    MAX_INCIDENTS, MAX_VALUE_BYTES, NOISE_SAMPLE, Noise, events, incident_addresses, noise, read,
};
use schema::SCHEMA;

use dwell_core::Entity;
use dwell_detect::{Detection, RuleInfo};
use dwell_investigate::Report;
use dwell_pipeline::InputTable;
use rusqlite::{Connection, params};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Version of the schema written here and the only one [`read`] accepts.
pub const SCHEMA_VERSION: u32 = 3;

/// Why a case file could not be written or read.
#[derive(Debug)]
pub struct CaseError(pub String);

impl std::fmt::Display for CaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CaseError {}

fn db(e: rusqlite::Error) -> CaseError {
    CaseError(format!("case file: {e}"))
}

/// Writes a case file as a run streams detections, then the incidents at the end.
pub struct CaseWriter {
    conn: Connection,
    next_id: i64,
    path: PathBuf,
    partial: tempfile::TempPath,
    /// Held (locked) until the case is complete.
    _lock: File,
}

impl CaseWriter {
    /// Starts the case file that will replace `path`. Fails when another run is writing it.
    pub fn create(path: &Path) -> Result<CaseWriter, CaseError> {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let cannot = |e: std::io::Error| {
            CaseError(format!("cannot write case file {}: {e}", path.display()))
        };
        let lock_path = dir.join(format!("{name}.lock"));
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(cannot)?;
        if let Err(e) = lock.try_lock() {
            return Err(CaseError(match e {
                std::fs::TryLockError::WouldBlock => format!(
                    "case file {} is being written by another dwell run (it holds {}); wait for it to finish or name another case file",
                    path.display(),
                    lock_path.display()
                ),
                std::fs::TryLockError::Error(e) => {
                    format!("cannot lock {}: {e}", lock_path.display())
                }
            }));
        }
        let partial = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempfile_in(&dir)
            .map_err(cannot)?
            .into_temp_path();
        let conn = Connection::open(&partial).map_err(|e| {
            CaseError(format!(
                "cannot create case file {}: {e}",
                partial.display()
            ))
        })?;
        // Inputs are stored at the end, when their formats are known: the references to them
        // are checked when the one transaction commits.
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; BEGIN; PRAGMA defer_foreign_keys = ON;",
        )
            .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(CaseWriter {
            conn,
            next_id: 1,
            path: path.to_path_buf(),
            partial,
            _lock: lock,
        })
    }

    /// Stores one detection with its event and entities; returns its id.
    pub fn detection(
        &mut self,
        d: &Detection,
        rule: &RuleInfo,
        host: &str,
        account: Option<&str>,
        entities: &[Entity],
    ) -> Result<i64, CaseError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut matched = String::new();
        crate::encode::push_json_object(&mut matched, d.matched.iter().map(|(k, v)| (k, Some(v))));
        let tags = serde_json::to_string(&rule.tags).unwrap_or_else(|_| "[]".into());
        let alert = d.alert_id(crate::encode::rule_key(rule)).to_string();
        self.conn
            .prepare_cached(
                "INSERT INTO detections (id, time, time_ns, rule_id, rule_title, level, tags, rule_path,
                 correlation, host, account, computer, channel, event_id, provider, input, record,
                 matched, event, alert_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
                 ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    id,
                    d.time.map(dwell_core::time::format),
                    d.time,
                    rule.id,
                    rule.title,
                    rule.level_str(),
                    tags,
                    rule.path,
                    rule.correlation(),
                    host,
                    account,
                    d.host,
                    d.stream,
                    d.code,
                    d.provider,
                    d.input,
                    d.record as i64,
                    matched,
                    d.event.to_json(),
                    alert,
                ])
            })
            .map_err(db)?;
        let mut st = self
            .conn
            .prepare_cached("INSERT INTO entities (detection, kind, value) VALUES (?1, ?2, ?3)")
            .map_err(db)?;
        for e in entities {
            st.execute(params![id, e.kind.as_str(), e.value])
                .map_err(db)?;
        }
        Ok(id)
    }

    /// Stores the inputs and the incidents, commits, and renames the file into place.
    /// `ids[i]` is the case id of finding `i` (the [`dwell_investigate::DetectionRef::index`]
    /// of the report).
    pub fn finish(
        self,
        inputs: &InputTable,
        report: &Report,
        ids: &[i64],
    ) -> Result<(), CaseError> {
        for (i, input) in inputs.snapshot().iter().enumerate() {
            self.conn
                .execute(
                    "INSERT INTO inputs (id, path, stable_id, format) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        i as i64,
                        input.display,
                        input.id.to_string(),
                        input.format.as_ref().map(|f| f.name())
                    ],
                )
                .map_err(db)?;
        }
        schema::store(&self.conn, report, ids).map_err(db)?;
        let CaseWriter {
            conn,
            path,
            partial,
            _lock,
            ..
        } = self;
        // Close before renaming, so the file is complete on disk.
        conn.close().map_err(|(_, e)| db(e))?;
        partial.persist(&path).map_err(|e| {
            CaseError(format!(
                "cannot write case file {}: {}",
                path.display(),
                e.error
            ))
        })?;
        Ok(())
    }
}
