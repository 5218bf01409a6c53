//! Reopening a case file, which may come from anywhere: read-only, each table read once in
//! incident order (not one query per incident), with bounds on what is read (every value
//! at most [`MAX_VALUE_BYTES`], at most [`MAX_INCIDENTS`] incidents) and every value checked
//! (severities, ids, times, references), so a hostile file is refused with a reason instead
//! of taking the machine's memory or drawing a lie.

use super::{CaseError, SCHEMA_VERSION};
use dwell_investigate::{
    Alias, Compromised, DetectionRef, Edge, EvidenceRef, Incident, LeftOut, Link, PatientZero,
    RecordRef, Remediated, Report, RuleCount, Sanctioned, SetAside, Stage, TacticSeen, Touched,
};
use rusqlite::limits::Limit;
use rusqlite::{Connection, OpenFlags, Row};
use std::collections::HashMap;
use std::path::Path;

/// The most incidents a case file may hold.
pub const MAX_INCIDENTS: usize = 100_000;

/// The longest value (text or blob) read from a case file, in bytes.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

const SEVERITIES: [&str; 5] = ["informational", "low", "medium", "high", "critical"];

/// A time column (RFC 3339 text) as nanoseconds; a value that is not one is an error.
fn time_at(r: &Row, i: usize) -> rusqlite::Result<i64> {
    let text: String = r.get(i)?;
    dwell_core::time::parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("'{}' is not a time", dwell_core::text::clip(&text, 40)).into(),
        )
    })
}

/// A count or number column that must not be negative.
fn count_at(r: &Row, i: usize) -> rusqlite::Result<u64> {
    let v: i64 = r.get(i)?;
    u64::try_from(v).map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Integer,
            format!("{v} is negative").into(),
        )
    })
}

/// Every row of `sql`, each read by `f`.
fn rows<T>(
    conn: &Connection,
    sql: &str,
    f: impl FnMut(&Row) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut st = conn.prepare(sql)?;
    st.query_map([], f)?.collect()
}

/// Rows keyed by their first column (an incident or movement id), in order.
fn grouped<T>(
    conn: &Connection,
    sql: &str,
    mut f: impl FnMut(&Row) -> rusqlite::Result<T>,
) -> rusqlite::Result<HashMap<i64, Vec<T>>> {
    let mut out: HashMap<i64, Vec<T>> = HashMap::new();
    let mut st = conn.prepare(sql)?;
    let mut q = st.query([])?;
    while let Some(r) = q.next()? {
        out.entry(r.get(0)?).or_default().push(f(r)?);
    }
    Ok(out)
}

/// A case file opened read-only, every value read at most [`MAX_VALUE_BYTES`].
fn open(path: &Path) -> Result<Connection, CaseError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| CaseError(format!("cannot open case file {}: {e}", path.display())))?;
    let _ = conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES as i32);
    Ok(conn)
}

/// The error for a case file whose content is not what dwell writes.
fn invalid(path: &Path) -> impl Fn(rusqlite::Error) -> CaseError + Copy + '_ {
    move |e| {
        CaseError(format!(
            "{} is not a valid dwell case file: {e}",
            path.display()
        ))
    }
}

/// Reopens a case file (read-only) and rebuilds its report.
pub fn read(path: &Path) -> Result<Report, CaseError> {
    let conn = open(path)?;
    let bad = invalid(path);
    conn.execute_batch("BEGIN DEFERRED").map_err(bad)?;
    let meta = |key: &str| -> Result<String, CaseError> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .map_err(bad)
    };
    let version = meta("schema_version")?;
    if version.trim().parse::<u32>().ok() != Some(SCHEMA_VERSION) {
        return Err(CaseError(format!(
            "{}: case file schema version '{}'; this dwell reads version {SCHEMA_VERSION}",
            path.display(),
            dwell_core::text::clip(&version, 40)
        )));
    }
    let num = |key: &str| -> Result<i64, CaseError> {
        let v = meta(key)?;
        v.trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                CaseError(format!(
                    "{}: meta value {key} '{}' is not a count",
                    path.display(),
                    dwell_core::text::clip(&v, 40)
                ))
            })
    };
    let n: i64 = conn
        .query_row("SELECT count(*) FROM incidents", [], |r| r.get(0))
        .map_err(bad)?;
    if n as usize > MAX_INCIDENTS {
        return Err(CaseError(format!(
            "{}: the case file lists {n} incidents; dwell reads at most {MAX_INCIDENTS}",
            path.display()
        )));
    }
    let invalid = |e| match e {
        Invalid::Db(e) => bad(e),
        Invalid::Value(why) => CaseError(format!("{}: {why}", path.display())),
    };
    let incidents = incidents(&conn).map_err(invalid)?;
    let m = model(&conn).map_err(|e| invalid(Invalid::Db(e)))?;
    Ok(Report {
        version: num("report_version")? as u32,
        gap_seconds: num("gap_seconds")?,
        detections: num("detections")? as usize,
        undated_detections: num("undated_detections")? as usize,
        movements_seen: num("movements_seen")? as usize,
        campaigns: num("campaigns")? as usize,
        incidents,
        set_aside: m.0,
        sanctioned: m.1,
        identities: m.2,
        left_out: m.3,
    })
}

type Model = (Vec<SetAside>, Vec<Sanctioned>, Vec<Alias>, Vec<LeftOut>);

/// The report's set-aside background, sanctioned changes, identities and left-out entities.
fn model(conn: &Connection) -> rusqlite::Result<Model> {
    let set_aside = rows(
        conn,
        "SELECT rule_id, rule_title, level, reason, detections, why, example_time, example_source, example_record FROM set_aside ORDER BY position",
        |r| {
            Ok(SetAside {
                rule_id: r.get(0)?,
                rule_title: r.get(1)?,
                level: r.get(2)?,
                reason: r.get(3)?,
                detections: count_at(r, 4)? as usize,
                why: r.get(5)?,
                example: RecordRef {
                    time: time_at(r, 6)?,
                    source: r.get(7)?,
                    record: count_at(r, 8)?,
                },
            })
        },
    )?;
    let mut covered = grouped(
        conn,
        "SELECT s.sanctioned, d.time_ns, d.rule_id, d.rule_title, d.level, d.host, d.account, i.path, d.record, d.id, d.role, d.why, d.confidence, d.tags
         FROM sanctioned_detections s JOIN detections d ON d.id = s.detection JOIN inputs i ON i.id = d.input
         ORDER BY s.sanctioned, s.position",
        detection,
    )?;
    let sanctioned = rows(
        conn,
        "SELECT id, ticket, summary, host, account, start_time, end_time, source, record FROM sanctioned ORDER BY id",
        |r| {
            let id: i64 = r.get(0)?;
            Ok(Sanctioned {
                ticket: r.get(1)?,
                summary: r.get(2)?,
                host: r.get(3)?,
                account: r.get(4)?,
                start: time_at(r, 5)?,
                end: time_at(r, 6)?,
                detections: covered.remove(&id).unwrap_or_default(),
                source: r.get(7)?,
                record: count_at(r, 8)?,
            })
        },
    )?;
    let identities = rows(
        conn,
        "SELECT name, account, rule, why FROM identities ORDER BY position",
        |r| {
            let rule: String = r.get(2)?;
            Ok(Alias {
                name: r.get(0)?,
                account: r.get(1)?,
                rule: match rule.as_str() {
                    "domain-sid" => "domain-sid",
                    "unique-name" => "unique-name",
                    _ => "identity-map",
                },
                why: r.get(3)?,
            })
        },
    )?;
    let left_out = rows(
        conn,
        "SELECT kind, name, detections, why FROM left_out ORDER BY position",
        |r| {
            Ok(LeftOut {
                kind: r.get(0)?,
                name: r.get(1)?,
                detections: count_at(r, 2)? as usize,
                why: r.get(3)?,
            })
        },
    )?;
    Ok((set_aside, sanctioned, identities, left_out))
}

/// Why the incidents could not be read.
enum Invalid {
    Db(rusqlite::Error),
    Value(String),
}

impl From<rusqlite::Error> for Invalid {
    fn from(e: rusqlite::Error) -> Self {
        Invalid::Db(e)
    }
}

const DET: &str = "SELECT d.incident, d.time_ns, d.rule_id, d.rule_title, d.level, d.host, d.account, i.path, d.record, d.id,
    d.role, d.why, d.confidence, d.tags
    FROM detections d JOIN inputs i ON i.id = d.input";

fn detection(r: &Row) -> rusqlite::Result<DetectionRef> {
    Ok(DetectionRef {
        time: r.get::<_, Option<i64>>(1)?.unwrap_or(0),
        rule_id: r.get(2)?,
        rule_title: r.get(3)?,
        level: r.get(4)?,
        host: r.get(5)?,
        account: r.get(6)?,
        source: r.get(7)?,
        record: count_at(r, 8)?,
        role: r.get::<_, Option<String>>(10)?.unwrap_or_default(),
        why: r.get::<_, Option<String>>(11)?.unwrap_or_default(),
        confidence: r.get::<_, Option<String>>(12)?.unwrap_or_default(),
        index: count_at(r, 9)? as usize,
        tags: serde_json::from_str(&r.get::<_, String>(13)?).unwrap_or_default(),
    })
}

fn touched(r: &Row, with_reached: bool) -> rusqlite::Result<Touched> {
    Ok(Touched {
        name: r.get(1)?,
        first: time_at(r, 2)?,
        last: time_at(r, 3)?,
        detections: count_at(r, 4)? as usize,
        reached: if with_reached { r.get(5)? } else { None },
    })
}

fn incidents(conn: &Connection) -> Result<Vec<Incident>, Invalid> {
    let mut dets = grouped(
        conn,
        &format!("{DET} WHERE d.incident IS NOT NULL ORDER BY d.incident, d.position"),
        detection,
    )?;
    let mut hosts = grouped(
        conn,
        "SELECT incident, host, first, last, detections, reached FROM incident_hosts ORDER BY incident, position",
        |r| touched(r, true),
    )?;
    let mut accounts = grouped(
        conn,
        "SELECT incident, account, first, last, detections FROM incident_accounts ORDER BY incident, position",
        |r| touched(r, false),
    )?;
    let mut tactics = grouped(
        conn,
        "SELECT incident, tactic, first FROM incident_tactics ORDER BY incident, position",
        |r| {
            Ok(TacticSeen {
                tactic: r.get(1)?,
                first: time_at(r, 2)?,
            })
        },
    )?;
    let mut rules = grouped(
        conn,
        "SELECT incident, rule_id, rule_title, level, count FROM incident_rules ORDER BY incident, position",
        |r| {
            Ok(RuleCount {
                rule_id: r.get(1)?,
                rule_title: r.get(2)?,
                level: r.get(3)?,
                count: count_at(r, 4)? as usize,
            })
        },
    )?;
    let mut movements = movements(conn)?;
    let mut compromised = grouped(
        conn,
        "SELECT incident, kind, name, first_abuse, since, how, evidence_time, evidence_source, evidence_record,
         confidence, remediated_time, remediated_how, remediated_source, remediated_record
         FROM incident_compromised ORDER BY incident, position",
        |r| {
            let remediated = match r.get::<_, Option<String>>(10)? {
                Some(_) => Some(Remediated {
                    time: time_at(r, 10)?,
                    how: r.get::<_, Option<String>>(11)?.unwrap_or_default(),
                    source: r.get::<_, Option<String>>(12)?.unwrap_or_default(),
                    record: r.get::<_, Option<i64>>(13)?.unwrap_or(0).max(0) as u64,
                }),
                None => None,
            };
            Ok(Compromised {
                kind: r.get(1)?,
                name: r.get(2)?,
                first_abuse: time_at(r, 3)?,
                since: time_at(r, 4)?,
                how: r.get(5)?,
                evidence: RecordRef {
                    time: time_at(r, 6)?,
                    source: r.get(7)?,
                    record: count_at(r, 8)?,
                },
                confidence: r.get(9)?,
                remediated,
            })
        },
    )?;
    let mut stages = grouped(
        conn,
        "SELECT incident, position, first, last, detections, hosts, accounts, tactics, headline
         FROM incident_stages ORDER BY incident, position",
        |r| {
            let list = |i: usize| -> rusqlite::Result<Vec<String>> {
                let s: String = r.get(i)?;
                Ok(s.split('\n')
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect())
            };
            Ok(Stage {
                stage: count_at(r, 1)? as u32 + 1,
                first: time_at(r, 2)?,
                last: time_at(r, 3)?,
                detections: count_at(r, 4)? as usize,
                hosts: list(5)?,
                accounts: list(6)?,
                tactics: list(7)?,
                headline: list(8)?,
            })
        },
    )?;
    let mut links = grouped(
        conn,
        "SELECT incident, via, entity, from_time, from_source, from_record, to_time, to_source, to_record FROM links ORDER BY incident, position",
        |r| {
            Ok(Link {
                via: r.get(1)?,
                entity: r.get(2)?,
                from: RecordRef {
                    time: time_at(r, 3)?,
                    source: r.get(4)?,
                    record: count_at(r, 5)?,
                },
                to: RecordRef {
                    time: time_at(r, 6)?,
                    source: r.get(7)?,
                    record: count_at(r, 8)?,
                },
            })
        },
    )?;
    type Head = (
        (i64, String, i64, i64, i64, Option<String>, Option<String>),
        (bool, Option<i64>, Option<i64>),
    );
    let heads: Vec<Head> = rows(
        conn,
        "SELECT id, severity, first_detection, last_detection, dwell_seconds,
         patient_zero_host, patient_zero_account, campaign, impact_detection, dwell_to_impact_seconds
         FROM incidents ORDER BY id",
        |r| {
            Ok((
                (
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ),
                (r.get(7)?, r.get(8)?, r.get(9)?),
            ))
        },
    )?;
    let mut out = Vec::with_capacity(heads.len());
    for (
        (id, severity, first, last, dwell_seconds, pz_host, pz_account),
        (campaign, impact, to_impact),
    ) in heads
    {
        if id < 1 || id > u32::MAX as i64 {
            return Err(Invalid::Value(format!(
                "incident id {id} is not a positive number"
            )));
        }
        if !SEVERITIES.contains(&severity.as_str()) {
            return Err(Invalid::Value(format!(
                "incident {id} has severity '{}', which is not one of {}",
                dwell_core::text::clip(&severity, 40),
                SEVERITIES.join(", ")
            )));
        }
        if dwell_seconds < 0 {
            return Err(Invalid::Value(format!(
                "incident {id} has a negative dwell time"
            )));
        }
        let detections = dets.remove(&id).unwrap_or_default();
        let one = |d: i64| -> Result<DetectionRef, Invalid> {
            detections
                .iter()
                .find(|x| x.index as i64 == d)
                .cloned()
                .ok_or_else(|| {
                    Invalid::Value(format!(
                        "incident {id} names detection {d}, which is not one of its own"
                    ))
                })
        };
        out.push(Incident {
            id: id as u32,
            campaign,
            severity,
            first: one(first)?,
            last: one(last)?,
            dwell_seconds,
            impact: impact.map(one).transpose()?,
            dwell_to_impact_seconds: to_impact,
            compromised: compromised.remove(&id).unwrap_or_default(),
            stages: stages.remove(&id).unwrap_or_default(),
            patient_zero: PatientZero {
                host: pz_host,
                account: pz_account,
            },
            hosts: hosts.remove(&id).unwrap_or_default(),
            accounts: accounts.remove(&id).unwrap_or_default(),
            tactics: tactics.remove(&id).unwrap_or_default(),
            movements: movements.remove(&id).unwrap_or_default(),
            rules: rules.remove(&id).unwrap_or_default(),
            detections,
            links: links.remove(&id).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Every movement with its evidence, by incident.
fn movements(conn: &Connection) -> rusqlite::Result<HashMap<i64, Vec<Edge>>> {
    let mut evidence = grouped(
        conn,
        "SELECT movement, kind, time, source, record FROM movement_evidence ORDER BY movement, position",
        |r| {
            Ok(EvidenceRef {
                kind: r.get(1)?,
                time: time_at(r, 2)?,
                source: r.get(3)?,
                record: count_at(r, 4)?,
            })
        },
    )?;
    let mut out: HashMap<i64, Vec<Edge>> = HashMap::new();
    let mut st = conn.prepare(
        "SELECT incident, id, time, account, from_host, to_host, logon_type, methods, admin FROM movements ORDER BY incident, id",
    )?;
    let mut q = st.query([])?;
    while let Some(r) = q.next()? {
        let methods: String = r.get(7)?;
        let id: i64 = r.get(1)?;
        out.entry(r.get(0)?).or_default().push(Edge {
            time: time_at(r, 2)?,
            account: r.get(3)?,
            from: r.get(4)?,
            to: r.get(5)?,
            logon_type: r.get(6)?,
            methods: methods
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            admin: r.get(8)?,
            evidence: evidence.remove(&id).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The contents of the incidents' detections in a case file (campaigns first, at most
/// [`crate::events::MAX_SHOWN`]), by detection id, for the HTML report.
pub fn events(path: &Path) -> Result<crate::events::Events, CaseError> {
    let conn = open(path)?;
    let bad = invalid(path);
    let sql = format!(
        "SELECT id, matched, event FROM detections WHERE incident IS NOT NULL
         ORDER BY incident, position LIMIT {}",
        crate::events::MAX_SHOWN
    );
    // Row by row, each cut to what the page shows, so a hostile file's megabyte values are
    // never all in memory at once.
    let ok = |s: &str| serde_json::from_str::<serde_json::Value>(s).is_ok_and(|v| v.is_object());
    let mut out = crate::events::Events::new();
    let mut st = conn.prepare(&sql).map_err(bad)?;
    let mut q = st.query([]).map_err(bad)?;
    while let Some(r) = q.next().map_err(bad)? {
        let id = count_at(r, 0).map_err(bad)? as usize;
        let matched: String = r.get(1).map_err(bad)?;
        let event: String = r.get(2).map_err(bad)?;
        // Stored by dwell as JSON objects; anything else is shown as text, never run. A
        // document too large to show becomes a note saying so.
        let doc = if ok(&matched) && ok(&event) {
            crate::events::content(&matched, &event)
        } else {
            crate::events::content(
                "{}",
                &serde_json::json!({"(not a JSON object)": event}).to_string(),
            )
        };
        out.insert(id, doc);
    }
    Ok(out)
}

/// The addresses an incident's detections name (signal and context, not precursors: a
/// help-desk agent's office is not the intruder's), from a case file's entities.
pub fn incident_addresses(path: &Path, incident: u32) -> Result<Vec<String>, CaseError> {
    let conn = open(path)?;
    let bad = invalid(path);
    let mut st = conn
        .prepare(
            "SELECT DISTINCT e.value FROM entities e JOIN detections d ON d.id = e.detection
             WHERE d.incident = ?1 AND e.kind = 'ip' AND coalesce(d.role, '') <> 'precursor'
             ORDER BY e.value LIMIT 10000",
        )
        .map_err(bad)?;
    st.query_map([incident as i64], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect())
        .map_err(bad)
}

/// The detections of one rule the investigation set aside as background, for `dwell tune`.
#[derive(Debug, Clone, Default)]
pub struct Noise {
    /// The rule's id.
    pub rule_id: String,
    /// Its title.
    pub rule_title: String,
    /// Its level.
    pub level: String,
    /// Why it was set aside (`routine`, `widespread`...).
    pub reason: String,
    /// In words.
    pub why: String,
    /// Its channel (Windows) or stream, from its first detection.
    pub channel: String,
    /// Each detection's host and event (a JSON object), at most [`NOISE_SAMPLE`] of them.
    pub events: Vec<(String, serde_json::Map<String, serde_json::Value>)>,
    /// The fields its rule matched on (for tune to leave alone).
    pub matched: std::collections::BTreeSet<String>,
    /// All its detections.
    pub detections: u64,
}

/// How many of a rule's set-aside detections `noise` reads.
pub const NOISE_SAMPLE: i64 = 50_000;

/// The rules set aside as background in a case file, noisiest first, with their detections'
/// events.
pub fn noise(path: &Path) -> Result<Vec<Noise>, CaseError> {
    let conn = open(path)?;
    let bad = invalid(path);
    let mut rules: Vec<Noise> = rows(
        &conn,
        "SELECT rule_id, rule_title, level, reason, why, detections FROM set_aside ORDER BY detections DESC, rule_id",
        |r| {
            Ok(Noise {
                rule_id: r.get(0)?,
                rule_title: r.get(1)?,
                level: r.get(2)?,
                reason: r.get(3)?,
                why: r.get(4)?,
                detections: count_at(r, 5)?,
                ..Default::default()
            })
        },
    )
    .map_err(bad)?;
    let mut st = conn
        .prepare(
            "SELECT host, channel, event, matched FROM detections
             WHERE rule_id = ?1 AND incident IS NULL ORDER BY id LIMIT ?2",
        )
        .map_err(bad)?;
    for n in &mut rules {
        let mut q = st
            .query(rusqlite::params![n.rule_id, NOISE_SAMPLE])
            .map_err(bad)?;
        while let Some(r) = q.next().map_err(bad)? {
            let host: String = r.get(0).map_err(bad)?;
            if n.channel.is_empty() {
                n.channel = r.get(1).map_err(bad)?;
            }
            let event: String = r.get(2).map_err(bad)?;
            let matched: String = r.get(3).map_err(bad)?;
            if let Ok(serde_json::Value::Object(m)) = serde_json::from_str(&matched) {
                n.matched.extend(m.keys().cloned());
            }
            if let Ok(serde_json::Value::Object(e)) = serde_json::from_str(&event) {
                n.events.push((host, e));
            }
        }
    }
    Ok(rules)
}
