//! Fields in PostgreSQL messages: pgaudit's `AUDIT:` records, statement logging
//! (`log_statement`, `log_min_duration_statement`), and connection and authentication lines.

use super::csv_row;
use crate::formats::text::{put, put_some, split_once};
use dwell_core::Event;

/// pgaudit's columns (`rows` only with `pgaudit.log_rows`), from its README's "Format".
const AUDIT: [&str; 10] = [
    "audit_type",
    "statement_id",
    "substatement_id",
    "class",
    "command",
    "object_type",
    "object_name",
    "statement",
    "parameter",
    "rows",
];

/// Adds the fields `message` holds.
pub(super) fn parse(message: &str, ev: &mut Event) {
    let m = message.trim_start();
    if let Some(audit) = m.strip_prefix("AUDIT: ") {
        // pgaudit's fields are CSV; a statement may span lines.
        if let Ok(cols) = csv_row(audit) {
            for (name, v) in AUDIT.iter().zip(&cols) {
                put_some(ev, name, v);
            }
        }
        return;
    }
    let mut rest = m;
    if let Some(r) = rest.strip_prefix("duration: ") {
        let (ms, r) = split_once(r, " ms").unwrap_or((r, ""));
        put(ev, "duration_ms", ms);
        rest = r.trim_start();
    }
    for kind in ["statement: ", "execute ", "parse ", "bind "] {
        if let Some(r) = rest.strip_prefix(kind) {
            let sql = if kind == "statement: " {
                r
            } else {
                match split_once(r, ": ") {
                    Some((name, sql)) => {
                        put(ev, "prepared_statement", name);
                        sql
                    }
                    None => r,
                }
            };
            put(ev, "statement", sql);
            return;
        }
    }
    if let Some(r) = m
        .strip_prefix("connection authorized: ")
        .or_else(|| m.strip_prefix("connection received: "))
        .or_else(|| m.strip_prefix("disconnection: "))
    {
        for part in r.split(' ') {
            match part.split_once('=') {
                Some(("user", v)) => put(ev, "user_name", v),
                Some(("database", v)) => put(ev, "database_name", v),
                Some(("host", v)) => {
                    super::put_client(ev, v);
                    0
                }
                Some(("application_name", v)) => put(ev, "application_name", v),
                _ => 0,
            };
        }
        return;
    }
    if let Some(r) = m.split(" authentication failed for user \"").nth(1) {
        put(ev, "user_name", r.split('"').next().unwrap_or(""));
        put(ev, "authentication", "failed");
    }
}
