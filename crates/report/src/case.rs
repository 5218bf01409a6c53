//! The case file: one SQLite database with the detections and their events, the entities
//! they name, the incidents, movements and links, so an analyst can query a case with any
//! SQL tool and dwell can reopen it. The schema is docs/case-file.md; [`SCHEMA_VERSION`]
//! changes whenever it does.

use crate::detection::Detection;
use crate::write::RuleView;
use dwell_investigate::Entity;
use dwell_investigate::incident::{
    DetectionRef, Edge, EvidenceRef, Incident, Link, PatientZero, RecordRef, Report, RuleCount,
    TacticSeen, Touched,
};
use rusqlite::{Connection, OpenFlags, params};
use std::path::{Path, PathBuf};

/// Version of the schema written here and the only one [`read`] accepts.
pub const SCHEMA_VERSION: u32 = 1;

const SCHEMA: &str = r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE inputs (id INTEGER PRIMARY KEY, path TEXT NOT NULL);
CREATE TABLE detections (
    id INTEGER PRIMARY KEY,
    incident INTEGER,
    position INTEGER,
    time TEXT,
    time_ns INTEGER,
    rule_id TEXT NOT NULL,
    rule_title TEXT NOT NULL,
    level TEXT NOT NULL,
    tags TEXT NOT NULL,
    rule_path TEXT NOT NULL,
    correlation TEXT,
    host TEXT NOT NULL,
    account TEXT,
    computer TEXT NOT NULL,
    channel TEXT NOT NULL,
    event_id INTEGER,
    provider TEXT NOT NULL,
    input INTEGER NOT NULL REFERENCES inputs(id),
    record INTEGER NOT NULL,
    matched TEXT NOT NULL,
    event TEXT NOT NULL
);
CREATE TABLE entities (
    detection INTEGER NOT NULL REFERENCES detections(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    severity TEXT NOT NULL,
    first_detection INTEGER NOT NULL REFERENCES detections(id),
    last_detection INTEGER NOT NULL REFERENCES detections(id),
    first_time TEXT NOT NULL,
    last_time TEXT NOT NULL,
    dwell_seconds INTEGER NOT NULL,
    patient_zero_host TEXT,
    patient_zero_account TEXT,
    detections INTEGER NOT NULL
);
CREATE TABLE incident_hosts (
    incident INTEGER NOT NULL REFERENCES incidents(id),
    position INTEGER NOT NULL,
    host TEXT NOT NULL,
    first TEXT NOT NULL,
    last TEXT NOT NULL,
    detections INTEGER NOT NULL,
    reached TEXT
);
CREATE TABLE incident_accounts (
    incident INTEGER NOT NULL REFERENCES incidents(id),
    position INTEGER NOT NULL,
    account TEXT NOT NULL,
    first TEXT NOT NULL,
    last TEXT NOT NULL,
    detections INTEGER NOT NULL
);
CREATE TABLE incident_tactics (
    incident INTEGER NOT NULL REFERENCES incidents(id),
    position INTEGER NOT NULL,
    tactic TEXT NOT NULL,
    first TEXT NOT NULL
);
CREATE TABLE incident_rules (
    incident INTEGER NOT NULL REFERENCES incidents(id),
    position INTEGER NOT NULL,
    rule_id TEXT NOT NULL,
    rule_title TEXT NOT NULL,
    level TEXT NOT NULL,
    count INTEGER NOT NULL
);
CREATE TABLE movements (
    id INTEGER PRIMARY KEY,
    incident INTEGER NOT NULL REFERENCES incidents(id),
    time TEXT NOT NULL,
    account TEXT NOT NULL,
    from_host TEXT NOT NULL,
    to_host TEXT NOT NULL,
    logon_type INTEGER,
    methods TEXT NOT NULL,
    admin INTEGER NOT NULL
);
CREATE TABLE movement_evidence (
    movement INTEGER NOT NULL REFERENCES movements(id),
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    time TEXT NOT NULL,
    source TEXT NOT NULL,
    record INTEGER NOT NULL
);
CREATE TABLE links (
    incident INTEGER NOT NULL REFERENCES incidents(id),
    position INTEGER NOT NULL,
    via TEXT NOT NULL,
    entity TEXT NOT NULL,
    from_time TEXT NOT NULL,
    from_source TEXT NOT NULL,
    from_record INTEGER NOT NULL,
    to_time TEXT NOT NULL,
    to_source TEXT NOT NULL,
    to_record INTEGER NOT NULL
);
CREATE INDEX detections_incident ON detections(incident, position);
CREATE INDEX detections_time ON detections(time_ns);
CREATE INDEX entities_value ON entities(kind, value);
CREATE INDEX entities_detection ON entities(detection);
"#;

fn db(e: rusqlite::Error) -> String {
    format!("case file: {e}")
}

/// Writes a case file as a hunt streams detections, then the incidents at the end. It is
/// written beside its final name and renamed there by [`CaseWriter::finish`], so an
/// interrupted run leaves no half case and does not destroy an earlier one.
pub struct CaseWriter {
    conn: Connection,
    next_id: i64,
    path: PathBuf,
    partial: PathBuf,
    done: bool,
}

impl Drop for CaseWriter {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

impl CaseWriter {
    /// Creates (or replaces) the case file at `path`; `inputs` are the run's inputs, which
    /// detections index.
    pub fn create(path: &Path, inputs: &[String]) -> Result<CaseWriter, String> {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".partial");
        let partial = path.with_file_name(name);
        if partial.exists() {
            std::fs::remove_file(&partial)
                .map_err(|e| format!("cannot write case file {}: {e}", partial.display()))?;
        }
        let conn = Connection::open(&partial)
            .map_err(|e| format!("cannot create case file {}: {e}", partial.display()))?;
        conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; BEGIN;")
            .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        for (i, p) in inputs.iter().enumerate() {
            conn.execute(
                "INSERT INTO inputs (id, path) VALUES (?1, ?2)",
                params![i as i64, p],
            )
            .map_err(db)?;
        }
        Ok(CaseWriter {
            conn,
            next_id: 1,
            path: path.to_path_buf(),
            partial,
            done: false,
        })
    }

    /// Stores one detection with its event and entities; returns its id.
    pub fn detection(
        &mut self,
        d: &Detection,
        rule: &RuleView,
        host: &str,
        account: Option<&str>,
        entities: &[Entity],
    ) -> Result<i64, String> {
        let id = self.next_id;
        self.next_id += 1;
        let mut matched = String::new();
        crate::write::push_json_object(&mut matched, d.matched.iter().map(|(k, v)| (k, Some(v))));
        let tags = serde_json::to_string(&rule.tags).unwrap_or_else(|_| "[]".into());
        self.conn
            .prepare_cached(
                "INSERT INTO detections (id, time, time_ns, rule_id, rule_title, level, tags, rule_path,
                 correlation, host, account, computer, channel, event_id, provider, input, record,
                 matched, event) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
                 ?14, ?15, ?16, ?17, ?18, ?19)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    id,
                    d.timestamp.map(dwell_ingest::time::format),
                    d.timestamp,
                    rule.id,
                    rule.title,
                    rule.level.map_or("", |l| l.as_str()),
                    tags,
                    rule.path,
                    rule.correlation,
                    host,
                    account,
                    d.computer,
                    d.channel,
                    d.event_id,
                    d.provider,
                    d.input,
                    d.record as i64,
                    matched,
                    d.event,
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

    /// Stores the incidents and commits. `ids[i]` is the case id of finding `i` (the
    /// [`DetectionRef::index`] of the report).
    pub fn finish(mut self, report: &Report, ids: &[i64]) -> Result<(), String> {
        self.store(report, ids)?;
        // Close before renaming, so the file is complete on disk.
        let conn = std::mem::replace(&mut self.conn, Connection::open_in_memory().map_err(db)?);
        conn.close().map_err(|(_, e)| db(e))?;
        std::fs::rename(&self.partial, &self.path)
            .map_err(|e| format!("cannot write case file {}: {e}", self.path.display()))?;
        self.done = true;
        Ok(())
    }

    fn store(&self, report: &Report, ids: &[i64]) -> Result<(), String> {
        let c = &self.conn;
        let ex = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<(), String> {
            c.prepare_cached(sql)
                .and_then(|mut st| st.execute(p))
                .map(|_| ())
                .map_err(db)
        };
        for (k, v) in [
            ("schema_version", SCHEMA_VERSION.to_string()),
            ("dwell_version", env!("CARGO_PKG_VERSION").to_string()),
            ("report_version", report.version.to_string()),
            ("gap_seconds", report.gap_seconds.to_string()),
            ("detections", report.detections.to_string()),
            ("undated_detections", report.undated_detections.to_string()),
            ("movements_seen", report.movements_seen.to_string()),
        ] {
            ex("INSERT INTO meta (key, value) VALUES (?1, ?2)", &[&k, &v])?;
        }
        let t = dwell_ingest::time::format;
        let mut movement_id = 0i64;
        for inc in &report.incidents {
            let id = inc.id as i64;
            let det_id = |r: &DetectionRef| ids.get(r.index).copied().unwrap_or(0);
            ex(
                "INSERT INTO incidents VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                &[
                    &id,
                    &inc.severity,
                    &det_id(&inc.first),
                    &det_id(&inc.last),
                    &t(inc.first.time),
                    &t(inc.last.time),
                    &inc.dwell_seconds,
                    &inc.patient_zero.host,
                    &inc.patient_zero.account,
                    &(inc.detections.len() as i64),
                ],
            )?;
            for (pos, d) in inc.detections.iter().enumerate() {
                ex(
                    "UPDATE detections SET incident = ?1, position = ?2 WHERE id = ?3",
                    &[&id, &(pos as i64), &det_id(d)],
                )?;
            }
            for (pos, h) in inc.hosts.iter().enumerate() {
                ex(
                    "INSERT INTO incident_hosts VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    &[
                        &id,
                        &(pos as i64),
                        &h.name,
                        &t(h.first),
                        &t(h.last),
                        &(h.detections as i64),
                        &h.reached,
                    ],
                )?;
            }
            for (pos, a) in inc.accounts.iter().enumerate() {
                ex(
                    "INSERT INTO incident_accounts VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    &[
                        &id,
                        &(pos as i64),
                        &a.name,
                        &t(a.first),
                        &t(a.last),
                        &(a.detections as i64),
                    ],
                )?;
            }
            for (pos, x) in inc.tactics.iter().enumerate() {
                ex(
                    "INSERT INTO incident_tactics VALUES (?1, ?2, ?3, ?4)",
                    &[&id, &(pos as i64), &x.tactic, &t(x.first)],
                )?;
            }
            for (pos, r) in inc.rules.iter().enumerate() {
                ex(
                    "INSERT INTO incident_rules VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    &[
                        &id,
                        &(pos as i64),
                        &r.rule_id,
                        &r.rule_title,
                        &r.level,
                        &(r.count as i64),
                    ],
                )?;
            }
            for m in &inc.movements {
                movement_id += 1;
                ex(
                    "INSERT INTO movements VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    &[
                        &movement_id,
                        &id,
                        &t(m.time),
                        &m.account,
                        &m.from,
                        &m.to,
                        &m.logon_type,
                        &m.methods.join(","),
                        &m.admin,
                    ],
                )?;
                for (pos, e) in m.evidence.iter().enumerate() {
                    ex(
                        "INSERT INTO movement_evidence VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        &[
                            &movement_id,
                            &(pos as i64),
                            &e.kind,
                            &t(e.time),
                            &e.source,
                            &(e.record as i64),
                        ],
                    )?;
                }
            }
            for (pos, l) in inc.links.iter().enumerate() {
                ex(
                    "INSERT INTO links VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    &[
                        &id,
                        &(pos as i64),
                        &l.via,
                        &l.entity,
                        &t(l.from.time),
                        &l.from.source,
                        &(l.from.record as i64),
                        &t(l.to.time),
                        &l.to.source,
                        &(l.to.record as i64),
                    ],
                )?;
            }
        }
        c.execute_batch("COMMIT").map_err(db)
    }
}

/// A time column (RFC 3339 text) as nanoseconds.
fn time_at(r: &rusqlite::Row, i: usize) -> rusqlite::Result<i64> {
    Ok(dwell_ingest::time::parse(&r.get::<_, String>(i)?).unwrap_or(0))
}

/// Every row of `sql` with the parameters `p`, each read by `f`.
fn rows<T>(
    conn: &Connection,
    sql: &str,
    p: &[&dyn rusqlite::ToSql],
    f: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut st = conn.prepare(sql)?;
    st.query_map(p, f)?.collect()
}

/// Reopens a case file (read-only) and rebuilds its report.
pub fn read(path: &Path) -> Result<Report, String> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open case file {}: {e}", path.display()))?;
    let bad = |e: rusqlite::Error| format!("{} is not a dwell case file: {e}", path.display());
    conn.execute_batch("BEGIN DEFERRED").map_err(bad)?;
    let meta = |key: &str| -> Result<String, String> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .map_err(bad)
    };
    let version: u32 = meta("schema_version")?.parse().unwrap_or(0);
    if version != SCHEMA_VERSION {
        return Err(format!(
            "{}: case file schema version {version}; this dwell reads version {SCHEMA_VERSION}",
            path.display()
        ));
    }
    let num = |key: &str| -> Result<i64, String> { Ok(meta(key)?.parse().unwrap_or(0)) };
    let detection = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<Vec<DetectionRef>, String> {
        rows(&conn, sql, p, |r| {
            Ok(DetectionRef {
                time: r.get::<_, Option<i64>>(0)?.unwrap_or(0),
                rule_id: r.get(1)?,
                rule_title: r.get(2)?,
                level: r.get(3)?,
                host: r.get(4)?,
                account: r.get(5)?,
                source: r.get(6)?,
                record: r.get::<_, i64>(7)? as u64,
                index: r.get::<_, i64>(8)? as usize,
            })
        })
        .map_err(bad)
    };
    const DET: &str = "SELECT d.time_ns, d.rule_id, d.rule_title, d.level, d.host, d.account, i.path, d.record, d.id
        FROM detections d JOIN inputs i ON i.id = d.input";
    type Row = (i64, String, i64, i64, i64, Option<String>, Option<String>);
    let incident_rows: Vec<Row> = rows(
        &conn,
        "SELECT id, severity, first_detection, last_detection, dwell_seconds,
         patient_zero_host, patient_zero_account FROM incidents ORDER BY id",
        &[],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        },
    )
    .map_err(bad)?;
    let mut incidents = Vec::new();
    for (id, severity, first, last, dwell_seconds, pz_host, pz_account) in incident_rows {
        let one = |d: i64| -> Result<DetectionRef, String> {
            detection(&format!("{DET} WHERE d.id = ?1"), &[&d])?
                .pop()
                .ok_or_else(|| {
                    format!(
                        "{}: incident {id} names a missing detection",
                        path.display()
                    )
                })
        };
        let detections = detection(
            &format!("{DET} WHERE d.incident = ?1 ORDER BY d.position"),
            &[&id],
        )?;
        let touched = |sql: &str, with_reached: bool| {
            rows(&conn, sql, &[&id], |r| {
                Ok(Touched {
                    name: r.get(0)?,
                    first: time_at(r, 1)?,
                    last: time_at(r, 2)?,
                    detections: r.get::<_, i64>(3)? as usize,
                    reached: if with_reached { r.get(4)? } else { None },
                })
            })
            .map_err(bad)
        };
        let hosts = touched(
            "SELECT host, first, last, detections, reached FROM incident_hosts WHERE incident = ?1 ORDER BY position",
            true,
        )?;
        let accounts = touched(
            "SELECT account, first, last, detections FROM incident_accounts WHERE incident = ?1 ORDER BY position",
            false,
        )?;
        let tactics = rows(
            &conn,
            "SELECT tactic, first FROM incident_tactics WHERE incident = ?1 ORDER BY position",
            &[&id],
            |r| {
                Ok(TacticSeen {
                    tactic: r.get(0)?,
                    first: time_at(r, 1)?,
                })
            },
        )
        .map_err(bad)?;
        let rules = rows(
            &conn,
            "SELECT rule_id, rule_title, level, count FROM incident_rules WHERE incident = ?1 ORDER BY position",
            &[&id],
            |r| {
                Ok(RuleCount {
                    rule_id: r.get(0)?,
                    rule_title: r.get(1)?,
                    level: r.get(2)?,
                    count: r.get::<_, i64>(3)? as usize,
                })
            },
        )
        .map_err(bad)?;
        let moves: Vec<(i64, Edge)> = rows(
            &conn,
            "SELECT id, time, account, from_host, to_host, logon_type, methods, admin FROM movements WHERE incident = ?1 ORDER BY id",
            &[&id],
            |r| {
                let methods: String = r.get(6)?;
                Ok((
                    r.get(0)?,
                    Edge {
                        time: time_at(r, 1)?,
                        account: r.get(2)?,
                        from: r.get(3)?,
                        to: r.get(4)?,
                        logon_type: r.get(5)?,
                        methods: methods
                            .split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect(),
                        admin: r.get(7)?,
                        evidence: Vec::new(),
                    },
                ))
            },
        )
        .map_err(bad)?;
        let mut movements = Vec::with_capacity(moves.len());
        for (mid, mut edge) in moves {
            edge.evidence = rows(
                &conn,
                "SELECT kind, time, source, record FROM movement_evidence WHERE movement = ?1 ORDER BY position",
                &[&mid],
                |r| {
                    Ok(EvidenceRef {
                        kind: r.get(0)?,
                        time: time_at(r, 1)?,
                        source: r.get(2)?,
                        record: r.get::<_, i64>(3)? as u64,
                    })
                },
            )
            .map_err(bad)?;
            movements.push(edge);
        }
        let links = rows(
            &conn,
            "SELECT via, entity, from_time, from_source, from_record, to_time, to_source, to_record FROM links WHERE incident = ?1 ORDER BY position",
            &[&id],
            |r| {
                Ok(Link {
                    via: r.get(0)?,
                    entity: r.get(1)?,
                    from: RecordRef {
                        time: time_at(r, 2)?,
                        source: r.get(3)?,
                        record: r.get::<_, i64>(4)? as u64,
                    },
                    to: RecordRef {
                        time: time_at(r, 5)?,
                        source: r.get(6)?,
                        record: r.get::<_, i64>(7)? as u64,
                    },
                })
            },
        )
        .map_err(bad)?;
        incidents.push(Incident {
            id: id as u32,
            severity,
            first: one(first)?,
            last: one(last)?,
            dwell_seconds,
            patient_zero: PatientZero {
                host: pz_host,
                account: pz_account,
            },
            hosts,
            accounts,
            tactics,
            movements,
            rules,
            detections,
            links,
        });
    }
    Ok(Report {
        version: num("report_version")? as u32,
        gap_seconds: num("gap_seconds")?,
        detections: num("detections")? as usize,
        undated_detections: num("undated_detections")? as usize,
        movements_seen: num("movements_seen")? as usize,
        incidents,
    })
}
