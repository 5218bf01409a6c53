//! Detections on the wire: a worker that matched an event hands the detection of a stateful
//! rule (a correlation's source, a first-seen rule) to the worker that holds that rule's
//! component, as one JSON document with everything the detection carries, the event whole.

use dwell_core::{Kind, Record, Section};
use dwell_detect::Detection;
use serde_json::{Value, json};
use std::sync::Arc;

/// A detection as sent: the rule by its key, the input by its key and format.
pub fn encode(d: &Detection, rule_key: &str, input_key: &str, format: &str) -> Vec<u8> {
    let event: Vec<Value> = d
        .event
        .iter_sections()
        .map(|(n, v, k, s)| json!([n, v, k as u8, s as u8]))
        .collect();
    json!({
        "rule": rule_key,
        "input": input_key,
        "format": format,
        "time": d.time,
        "record": d.record,
        "host": d.host,
        "stream": d.stream,
        "code": d.code,
        "provider": d.provider,
        "matched": d.matched,
        "event": event,
        "ident": d.ident,
        "captured": d.captured,
    })
    .to_string()
    .into_bytes()
}

/// A detection as received, before the receiver gives it its own rule and input indexes.
pub struct Received {
    /// The detection (rule and input are 0 until set).
    pub detection: Detection,
    /// The rule's key.
    pub rule: String,
    /// The input's key and format.
    pub input: String,
    /// See `input`.
    pub format: String,
}

fn kind(n: u64) -> Kind {
    match n {
        1 => Kind::Num,
        2 => Kind::Bool,
        3 => Kind::Null,
        _ => Kind::Str,
    }
}

fn section(n: u64) -> Section {
    match n {
        0 => Section::Header,
        1 => Section::Data,
        2 => Section::Extra,
        _ => Section::Other,
    }
}

/// Reads what [`encode`] wrote.
pub fn decode(bytes: &[u8]) -> Result<Received, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not a detection: {e}"))?;
    let s = |k: &str| v[k].as_str().map(str::to_string).ok_or(format!("no {k}"));
    let pairs = |k: &str| -> Vec<(String, String)> {
        v[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| Some((p[0].as_str()?.to_string(), p[1].as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut event = Record::default();
    for f in v["event"].as_array().ok_or("no event")? {
        let (Some(n), Some(val)) = (f[0].as_str(), f[1].as_str()) else {
            return Err("a bad event field".into());
        };
        event.push(
            n,
            val,
            kind(f[2].as_u64().unwrap_or(0)),
            section(f[3].as_u64().unwrap_or(3)),
        );
    }
    let captured = v["captured"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    Some((
                        p[0].as_str()?.to_string(),
                        p[1].as_str().map(str::to_string),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Received {
        detection: Detection {
            time: v["time"].as_i64(),
            rule: 0,
            input: 0,
            record: v["record"].as_u64().unwrap_or(0),
            host: s("host")?,
            stream: s("stream")?,
            code: v["code"].as_u64().map(|c| c as u32),
            provider: s("provider")?,
            matched: pairs("matched"),
            event: Arc::new(event),
            ident: v["ident"].as_str().map(str::to_string),
            captured,
            correlation: None,
        },
        rule: s("rule")?,
        input: s("input")?,
        format: s("format")?,
    })
}

/// Where matches of stateful rules go: published, keyed by component, before the commit.
pub trait Router: Send {
    /// Sends `matches` (component key, payload, message id); `Ok` once each is durable.
    fn route(&mut self, matches: &[(String, Vec<u8>, String)]) -> Result<(), String>;
    /// Tells every partition how far this one has read: the latest event time it has taken
    /// (and whose matches were routed), or that it is idle (caught up, nothing new).
    fn progress(&mut self, from: u32, time: Option<i64>, idle: bool) -> Result<(), String>;
}

/// A progress message, as sent among the matches.
pub fn progress(from: u32, time: Option<i64>, idle: bool) -> Vec<u8> {
    json!({"progress": from, "time": time, "idle": idle})
        .to_string()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detection_survives_the_wire() {
        let mut event = Record::default();
        event.push("EventID", "4625", Kind::Num, Section::Header);
        event.push("TargetUserName", "bob \"x\"", Kind::Str, Section::Data);
        let d = Detection {
            time: Some(1_700_000_000_123_456_789),
            rule: 7,
            input: 2,
            record: 42,
            host: "dc1".into(),
            stream: "Security".into(),
            code: Some(4625),
            provider: "p".into(),
            matched: vec![("EventID".into(), "4625".into())],
            event: Arc::new(event),
            ident: Some("99".into()),
            captured: vec![
                ("TargetUserName".into(), Some("bob".into())),
                ("X".into(), None),
            ],
            correlation: None,
        };
        let r = decode(&encode(&d, "rule-id", "nats:p1:evtx-json", "evtx-json")).unwrap();
        assert_eq!(
            (r.rule.as_str(), r.input.as_str(), r.format.as_str()),
            ("rule-id", "nats:p1:evtx-json", "evtx-json")
        );
        let back = Detection {
            rule: 7,
            input: 2,
            ..r.detection
        };
        assert_eq!(back, d);
        assert!(decode(b"{}").is_err());
    }
}
