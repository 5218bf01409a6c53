//! Times and escaping as each source writes them.

use jiff::Timestamp;

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).expect("story times are in range")
}

/// `2025-02-24T09:12:30.000Z` (Okta, ESXi).
pub fn iso_ms(ms: i64) -> String {
    ts(ms).strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `2025-02-24T09:12:30.000000Z` (Windows `SystemTime`).
pub fn iso_us(ms: i64) -> String {
    ts(ms).strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// `2025-02-24 09:12:30.000 UTC` (PostgreSQL `%m`).
pub fn pg(ms: i64) -> String {
    ts(ms).strftime("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()
}

/// `2025-02-24 09:12:30 UTC` (PostgreSQL `%s`, the session start).
pub fn pg_s(ms: i64) -> String {
    ts(ms).strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `2025-02-24T09:12:30.000000+00:00` (rsyslog's RFC 3339 file format).
pub fn rfc3339(ms: i64) -> String {
    ts(ms).strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// `1740388350.000` (Squid).
pub fn epoch(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// `24/Feb/2025:09:12:30 +0000` (nginx).
pub fn clf(ms: i64) -> String {
    ts(ms).strftime("%d/%b/%Y:%H:%M:%S +0000").to_string()
}

/// `2025-02-24 09:12:30` (ServiceNow's Table API, UTC).
pub fn snow(ms: i64) -> String {
    ts(ms).strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// A JSON string, quoted.
pub fn js(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// A CSV value, quoted as csvlog quotes it.
pub fn csv(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}
