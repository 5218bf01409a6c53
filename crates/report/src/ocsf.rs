//! OCSF 1.3 Detection Findings (class 2004): the rule as the analytic, its ATT&CK tags as
//! attacks, the host as the device and the event as evidence; the finding's `uid` is the
//! alert's stable id.

use crate::encode::{message, push_json, push_json_object, push_num, push_time, rule_key};
use dwell_detect::{Detection, RuleInfo};
use dwell_sigma::Level;

/// One finding, as a line of JSON.
pub(crate) fn finding(d: &Detection, r: &RuleInfo, source: &str) -> String {
    let (_, message) = message(d, r);
    let (severity_id, severity) = match r.level {
        None => (0, "Unknown"),
        Some(Level::Informational) => (1, "Informational"),
        Some(Level::Low) => (2, "Low"),
        Some(Level::Medium) => (3, "Medium"),
        Some(Level::High) => (4, "High"),
        Some(Level::Critical) => (5, "Critical"),
    };
    let mut s = String::with_capacity(d.event.text_len() + 1024);
    s.push_str("{\"activity_id\":1,\"activity_name\":\"Create\",\"category_uid\":2,\"category_name\":\"Findings\",\"class_uid\":2004,\"class_name\":\"Detection Finding\",\"type_uid\":200401,\"type_name\":\"Detection Finding: Create\",\"time\":");
    push_num(&mut s, d.time.map(|t| t.div_euclid(1_000_000)));
    s.push_str(&format!(",\"severity_id\":{severity_id},\"severity\":\"{severity}\",\"status_id\":1,\"status\":\"New\",\"message\":"));
    push_json(&mut s, &message);
    s.push_str(",\"metadata\":{\"version\":\"1.3.0\",\"product\":{\"name\":\"dwell\",\"vendor_name\":\"dwell\",\"version\":");
    push_json(&mut s, env!("CARGO_PKG_VERSION"));
    s.push_str("},\"log_name\":");
    push_json(&mut s, &d.stream);
    s.push_str(",\"original_time\":");
    push_time(&mut s, d.time);
    s.push_str("},\"finding_info\":{\"uid\":");
    push_json(&mut s, &d.alert_id(rule_key(r)).to_string());
    s.push_str(",\"title\":");
    push_json(&mut s, &r.title);
    s.push_str(",\"types\":[\"Sigma\"],\"analytic\":{\"uid\":");
    push_json(&mut s, &r.id);
    s.push_str(",\"name\":");
    push_json(&mut s, &r.title);
    s.push_str(",\"type_id\":1,\"type\":\"Rule\"},\"attacks\":[");
    let mut first = true;
    for item in r.tags.iter().filter_map(|t| attack(t)) {
        if !first {
            s.push(',');
        }
        first = false;
        s.push_str(&item);
    }
    s.push_str("]},\"device\":{\"hostname\":");
    push_json(&mut s, &d.host);
    s.push_str(",\"type_id\":0},\"evidences\":[{\"data\":");
    d.event.write_json(&mut s);
    s.push_str("}],\"unmapped\":{\"event_id\":");
    push_num(&mut s, d.code);
    s.push_str(",\"record_id\":");
    s.push_str(&d.record.to_string());
    s.push_str(",\"source\":");
    push_json(&mut s, source);
    s.push_str(",\"rule_path\":");
    push_json(&mut s, &r.path);
    s.push_str(",\"matched\":");
    push_json_object(&mut s, d.matched.iter().map(|(k, v)| (k, Some(v))));
    s.push_str("}}\n");
    s
}

/// An ATT&CK tag as an OCSF attack: a tactic (with its id where dwell can vouch for it) or
/// a technique.
fn attack(tag: &str) -> Option<String> {
    let rest = tag.strip_prefix("attack.")?;
    let lower = rest.to_ascii_lowercase().replace('_', "-");
    let technique = lower.len() > 1
        && lower.starts_with('t')
        && lower.as_bytes()[1].is_ascii_digit()
        && lower[1..].chars().all(|c| c.is_ascii_digit() || c == '.');
    if let Some(uid) = tactic_uid(&lower) {
        Some(format!(
            "{{\"tactic\":{{\"name\":\"{lower}\",\"uid\":\"{uid}\"}}}}"
        ))
    } else if matches!(lower.as_str(), "stealth" | "defense-impairment") {
        // Newer ATT&CK tactics: named, without an id dwell can vouch for.
        Some(format!("{{\"tactic\":{{\"name\":\"{lower}\"}}}}"))
    } else if technique {
        Some(format!(
            "{{\"technique\":{{\"uid\":\"{}\"}}}}",
            lower.to_ascii_uppercase()
        ))
    } else {
        None
    }
}

/// ATT&CK tactic ids.
fn tactic_uid(name: &str) -> Option<&'static str> {
    Some(match name {
        "reconnaissance" => "TA0043",
        "resource-development" => "TA0042",
        "initial-access" => "TA0001",
        "execution" => "TA0002",
        "persistence" => "TA0003",
        "privilege-escalation" => "TA0004",
        "defense-evasion" => "TA0005",
        "credential-access" => "TA0006",
        "discovery" => "TA0007",
        "lateral-movement" => "TA0008",
        "collection" => "TA0009",
        "exfiltration" => "TA0010",
        "command-and-control" => "TA0011",
        "impact" => "TA0040",
        _ => return None,
    })
}
