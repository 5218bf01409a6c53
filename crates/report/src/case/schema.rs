//! The case file's tables (documented in docs/case-file.md), and storing a report in them.

use super::SCHEMA_VERSION;
use dwell_investigate::{DetectionRef, Incident, Report};
use rusqlite::Connection;

pub(super) const SCHEMA: &str = r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE inputs (id INTEGER PRIMARY KEY, path TEXT NOT NULL, stable_id TEXT NOT NULL, format TEXT);
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
    event TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    role TEXT,
    why TEXT,
    confidence TEXT
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
    detections INTEGER NOT NULL,
    campaign INTEGER NOT NULL,
    impact_detection INTEGER REFERENCES detections(id),
    dwell_to_impact_seconds INTEGER
);
CREATE TABLE incident_compromised (
    incident INTEGER NOT NULL REFERENCES incidents(id),
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    first_abuse TEXT NOT NULL,
    since TEXT NOT NULL,
    how TEXT NOT NULL,
    evidence_time TEXT NOT NULL,
    evidence_source TEXT NOT NULL,
    evidence_record INTEGER NOT NULL,
    confidence TEXT NOT NULL,
    remediated_time TEXT,
    remediated_how TEXT,
    remediated_source TEXT,
    remediated_record INTEGER
);
CREATE TABLE incident_stages (
    incident INTEGER NOT NULL REFERENCES incidents(id),
    position INTEGER NOT NULL,
    first TEXT NOT NULL,
    last TEXT NOT NULL,
    detections INTEGER NOT NULL,
    hosts TEXT NOT NULL,
    accounts TEXT NOT NULL,
    tactics TEXT NOT NULL,
    headline TEXT NOT NULL
);
CREATE TABLE set_aside (
    position INTEGER NOT NULL,
    rule_id TEXT NOT NULL,
    rule_title TEXT NOT NULL,
    level TEXT NOT NULL,
    reason TEXT NOT NULL,
    detections INTEGER NOT NULL,
    why TEXT NOT NULL,
    example_time TEXT NOT NULL,
    example_source TEXT NOT NULL,
    example_record INTEGER NOT NULL
);
CREATE TABLE sanctioned (
    id INTEGER PRIMARY KEY,
    ticket TEXT NOT NULL,
    summary TEXT NOT NULL,
    host TEXT,
    account TEXT,
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL,
    source TEXT NOT NULL,
    record INTEGER NOT NULL
);
CREATE TABLE sanctioned_detections (
    sanctioned INTEGER NOT NULL REFERENCES sanctioned(id),
    position INTEGER NOT NULL,
    detection INTEGER NOT NULL REFERENCES detections(id)
);
CREATE TABLE identities (
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    account TEXT NOT NULL,
    rule TEXT NOT NULL,
    why TEXT NOT NULL
);
CREATE TABLE left_out (
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    detections INTEGER NOT NULL,
    why TEXT NOT NULL
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

/// Stores the incidents of `report`; `ids[i]` is the case id of finding `i`.
pub(super) fn store(c: &Connection, report: &Report, ids: &[i64]) -> rusqlite::Result<()> {
    for (k, v) in [
        ("schema_version", SCHEMA_VERSION.to_string()),
        ("dwell_version", env!("CARGO_PKG_VERSION").to_string()),
        ("report_version", report.version.to_string()),
        ("gap_seconds", report.gap_seconds.to_string()),
        ("detections", report.detections.to_string()),
        ("undated_detections", report.undated_detections.to_string()),
        ("movements_seen", report.movements_seen.to_string()),
        ("campaigns", report.campaigns.to_string()),
    ] {
        ex(
            c,
            "INSERT INTO meta (key, value) VALUES (?1, ?2)",
            &[&k, &v],
        )?;
    }
    let mut movement_id = 0i64;
    for inc in &report.incidents {
        incident(c, inc, ids)?;
        movements(c, inc, &mut movement_id)?;
        links(c, inc)?;
        campaign(c, inc)?;
    }
    model(c, report, ids)?;
    c.execute_batch("COMMIT")
}

/// What the campaign model says of an incident: what it compromised and its stages.
fn campaign(c: &Connection, inc: &Incident) -> rusqlite::Result<()> {
    let ex = |sql: &str, p: &[&dyn rusqlite::ToSql]| ex(c, sql, p);
    let t = dwell_core::time::format;
    let id = inc.id as i64;
    for (pos, x) in inc.compromised.iter().enumerate() {
        let r = x.remediated.as_ref();
        ex(
            "INSERT INTO incident_compromised VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            &[
                &id,
                &(pos as i64),
                &x.kind,
                &x.name,
                &t(x.first_abuse),
                &t(x.since),
                &x.how,
                &t(x.evidence.time),
                &x.evidence.source,
                &(x.evidence.record as i64),
                &x.confidence,
                &r.map(|r| t(r.time)),
                &r.map(|r| r.how.clone()),
                &r.map(|r| r.source.clone()),
                &r.map(|r| r.record as i64),
            ],
        )?;
    }
    for (pos, s) in inc.stages.iter().enumerate() {
        ex(
            "INSERT INTO incident_stages VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            &[
                &id,
                &(pos as i64),
                &t(s.first),
                &t(s.last),
                &(s.detections as i64),
                &s.hosts.join("\n"),
                &s.accounts.join("\n"),
                &s.tactics.join("\n"),
                &s.headline.join("\n"),
            ],
        )?;
    }
    Ok(())
}

/// The report's set-aside background, sanctioned changes, identities and left-out entities.
fn model(c: &Connection, report: &Report, ids: &[i64]) -> rusqlite::Result<()> {
    let ex = |sql: &str, p: &[&dyn rusqlite::ToSql]| ex(c, sql, p);
    let t = dwell_core::time::format;
    for (pos, s) in report.set_aside.iter().enumerate() {
        ex(
            "INSERT INTO set_aside VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            &[
                &(pos as i64),
                &s.rule_id,
                &s.rule_title,
                &s.level,
                &s.reason,
                &(s.detections as i64),
                &s.why,
                &t(s.example.time),
                &s.example.source,
                &(s.example.record as i64),
            ],
        )?;
    }
    for (k, s) in report.sanctioned.iter().enumerate() {
        let sid = k as i64 + 1;
        ex(
            "INSERT INTO sanctioned VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            &[
                &sid,
                &s.ticket,
                &s.summary,
                &s.host,
                &s.account,
                &t(s.start),
                &t(s.end),
                &s.source,
                &(s.record as i64),
            ],
        )?;
        for (pos, d) in s.detections.iter().enumerate() {
            ex(
                "INSERT INTO sanctioned_detections VALUES (?1, ?2, ?3)",
                &[&sid, &(pos as i64), &ids.get(d.index).copied().unwrap_or(0)],
            )?;
        }
    }
    for (pos, a) in report.identities.iter().enumerate() {
        ex(
            "INSERT INTO identities VALUES (?1, ?2, ?3, ?4, ?5)",
            &[&(pos as i64), &a.name, &a.account, &a.rule, &a.why],
        )?;
    }
    for (pos, l) in report.left_out.iter().enumerate() {
        ex(
            "INSERT INTO left_out VALUES (?1, ?2, ?3, ?4, ?5)",
            &[
                &(pos as i64),
                &l.kind,
                &l.name,
                &(l.detections as i64),
                &l.why,
            ],
        )?;
    }
    Ok(())
}

fn ex(c: &Connection, sql: &str, p: &[&dyn rusqlite::ToSql]) -> rusqlite::Result<()> {
    c.prepare_cached(sql)
        .and_then(|mut st| st.execute(p))
        .map(|_| ())
}

/// An incident's row, its detections' places, hosts, accounts, tactics and rules.
fn incident(c: &Connection, inc: &Incident, ids: &[i64]) -> rusqlite::Result<()> {
    let ex = |sql: &str, p: &[&dyn rusqlite::ToSql]| ex(c, sql, p);
    let t = dwell_core::time::format;
    let id = inc.id as i64;
    let det_id = |r: &DetectionRef| ids.get(r.index).copied().unwrap_or(0);
    ex(
        "INSERT INTO incidents VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
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
            &inc.campaign,
            &inc.impact.as_ref().map(det_id),
            &inc.dwell_to_impact_seconds,
        ],
    )?;
    for (pos, d) in inc.detections.iter().enumerate() {
        // The host and account as the investigation resolved them (the host of a log that
        // names none, one name per account).
        ex(
            "UPDATE detections SET incident = ?1, position = ?2, role = ?3, why = ?4, confidence = ?5,
             host = ?6, account = ?7 WHERE id = ?8",
            &[
                &id,
                &(pos as i64),
                &d.role,
                &d.why,
                &d.confidence,
                &d.host,
                &d.account,
                &det_id(d),
            ],
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
    Ok(())
}

/// An incident's movements and the records behind them.
fn movements(c: &Connection, inc: &Incident, movement_id: &mut i64) -> rusqlite::Result<()> {
    let ex = |sql: &str, p: &[&dyn rusqlite::ToSql]| ex(c, sql, p);
    let t = dwell_core::time::format;
    let id = inc.id as i64;
    for m in &inc.movements {
        *movement_id += 1;
        ex(
            "INSERT INTO movements VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            &[
                &*movement_id,
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
                    &*movement_id,
                    &(pos as i64),
                    &e.kind,
                    &t(e.time),
                    &e.source,
                    &(e.record as i64),
                ],
            )?;
        }
    }
    Ok(())
}

/// Why an incident's detections belong together.
fn links(c: &Connection, inc: &Incident) -> rusqlite::Result<()> {
    let ex = |sql: &str, p: &[&dyn rusqlite::ToSql]| ex(c, sql, p);
    let t = dwell_core::time::format;
    let id = inc.id as i64;
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
    Ok(())
}
