//! OCSF 1.3 Detection Findings (class 2004): the rule as the analytic, its ATT&CK tags as
//! attacks (tactics by their ATT&CK names and ids), the host as the device (so the finding
//! declares the `host` profile), and the event as evidence: the whole event as `data`, and its
//! process, user and endpoints as OCSF objects where it names them. The finding's `uid` is the
//! alert's stable id. Undated detections are not findings (`time` is required): the writer
//! counts them instead.

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
    s.push_str(",\"metadata\":{\"version\":\"1.3.0\",\"profiles\":[\"host\"],\"product\":{\"name\":\"dwell\",\"vendor_name\":\"dwell\",\"version\":");
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
    s.push_str(",\"type_id\":0},\"evidences\":[{");
    evidence(&mut s, d);
    s.push_str("\"data\":");
    d.event.write_json(&mut s);
    s.push_str("}],\"unmapped\":{\"event_id\":");
    push_num(&mut s, d.code);
    s.push_str(",\"record_id\":");
    push_num(&mut s, crate::writer::record_id(d));
    s.push_str(",\"record\":");
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
    if let Some((uid, name)) = tactic(&lower) {
        Some(format!(
            "{{\"tactic\":{{\"name\":\"{name}\",\"uid\":\"{uid}\"}}}}"
        ))
    } else if let Some(name) = match lower.as_str() {
        // Newer ATT&CK tactics: named, without an id dwell can vouch for.
        "stealth" => Some("Stealth"),
        "defense-impairment" => Some("Defense Impairment"),
        _ => None,
    } {
        Some(format!("{{\"tactic\":{{\"name\":\"{name}\"}}}}"))
    } else if technique {
        Some(format!(
            "{{\"technique\":{{\"uid\":\"{}\"}}}}",
            lower.to_ascii_uppercase()
        ))
    } else {
        None
    }
}

/// An ATT&CK tactic's id and name, from its Sigma tag's short name.
fn tactic(short: &str) -> Option<(&'static str, &'static str)> {
    Some(match short {
        "reconnaissance" => ("TA0043", "Reconnaissance"),
        "resource-development" => ("TA0042", "Resource Development"),
        "initial-access" => ("TA0001", "Initial Access"),
        "execution" => ("TA0002", "Execution"),
        "persistence" => ("TA0003", "Persistence"),
        "privilege-escalation" => ("TA0004", "Privilege Escalation"),
        "defense-evasion" => ("TA0005", "Defense Evasion"),
        "credential-access" => ("TA0006", "Credential Access"),
        "discovery" => ("TA0007", "Discovery"),
        "lateral-movement" => ("TA0008", "Lateral Movement"),
        "collection" => ("TA0009", "Collection"),
        "exfiltration" => ("TA0010", "Exfiltration"),
        "command-and-control" => ("TA0011", "Command and Control"),
        "impact" => ("TA0040", "Impact"),
        _ => return None,
    })
}

/// The first of these fields the event has, non-empty.
fn first<'a>(d: &'a Detection, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| d.event.get(n).filter(|v| !v.is_empty() && *v != "-"))
}

/// An OCSF `user` from a Windows-style `DOMAIN\name`, a UPN or a bare name.
fn push_user(s: &mut String, who: &str, domain: Option<&str>) {
    let (dom, name) = match who.split_once('\\') {
        Some((d, n)) => (Some(d), n),
        None => (domain, who),
    };
    s.push_str("{\"name\":");
    push_json(s, name);
    if let Some(d) = dom.filter(|d| !d.is_empty() && *d != "-") {
        s.push_str(",\"domain\":");
        push_json(s, d);
    }
    s.push('}');
}

/// An OCSF network endpoint: an address and, when the event has it, a port.
fn push_endpoint(s: &mut String, ip: &str, port: Option<&str>) {
    s.push_str("{\"ip\":");
    push_json(s, ip);
    if let Some(p) = port.and_then(|p| p.trim().parse::<u16>().ok()) {
        s.push_str(&format!(",\"port\":{p}"));
    }
    s.push('}');
}

/// The event's process, user and endpoints as evidence objects, each followed by a comma.
fn evidence(s: &mut String, d: &Detection) {
    let image = first(d, &["Image", "NewProcessName", "process.executable"]);
    let cmd = first(d, &["CommandLine", "process.command_line"]);
    // An OCSF process is known by its pid or uid: without either, none is written.
    let ids = |pid_field: &[&str], uid_field: &[&str]| {
        let mut f = Vec::new();
        if let Some(n) = first(d, pid_field).and_then(pid) {
            f.push(format!("\"pid\":{n}"));
        }
        if let Some(u) = first(d, uid_field) {
            let mut x = String::from("\"uid\":");
            push_json(&mut x, u);
            f.push(x);
        }
        f
    };
    let mut fields = ids(
        &["ProcessId", "NewProcessId", "process.pid"],
        &["ProcessGuid"],
    );
    if (image.is_some() || cmd.is_some()) && !fields.is_empty() {
        if let Some(cmd) = cmd {
            let mut f = String::from("\"cmd_line\":");
            push_json(&mut f, cmd);
            fields.push(f);
        }
        if let Some(image) = image {
            let name = image.rsplit(['\\', '/']).next().unwrap_or(image);
            let mut f = String::from("\"name\":");
            push_json(&mut f, name);
            f.push_str(",\"file\":{\"name\":");
            push_json(&mut f, name);
            f.push_str(",\"path\":");
            push_json(&mut f, image);
            f.push_str(",\"type_id\":1}");
            fields.push(f);
        }
        let mut parent = ids(&["ParentProcessId"], &["ParentProcessGuid"]);
        if !parent.is_empty() {
            if let Some(pi) = first(d, &["ParentImage", "ParentProcessName"]) {
                let mut f = String::from("\"name\":");
                push_json(&mut f, pi.rsplit(['\\', '/']).next().unwrap_or(pi));
                parent.push(f);
            }
            if let Some(pc) = first(d, &["ParentCommandLine"]) {
                let mut f = String::from("\"cmd_line\":");
                push_json(&mut f, pc);
                parent.push(f);
            }
            fields.push(format!("\"parent_process\":{{{}}}", parent.join(",")));
        }
        s.push_str("\"process\":{");
        s.push_str(&fields.join(","));
        s.push_str("},");
    }
    if let Some(who) = first(
        d,
        &[
            "User",
            "TargetUserName",
            "SubjectUserName",
            "user.name",
            "user_name",
        ],
    ) {
        let domain = if d.event.get("TargetUserName") == Some(who) {
            first(d, &["TargetDomainName"])
        } else {
            first(d, &["SubjectDomainName"])
        };
        s.push_str("\"user\":");
        push_user(s, who, domain);
        s.push(',');
    }
    let src = first(
        d,
        &[
            "SourceIp",
            "IpAddress",
            "SourceAddress",
            "src_ip",
            "c-ip",
            "source.ip",
        ],
    )
    .filter(|ip| ip.trim().parse::<std::net::IpAddr>().is_ok());
    if let Some(ip) = src {
        s.push_str("\"src_endpoint\":");
        push_endpoint(s, ip, first(d, &["SourcePort", "IpPort", "src_port"]));
        s.push(',');
    }
    let dst = first(
        d,
        &["DestinationIp", "DestAddress", "dst_ip", "destination.ip"],
    )
    .filter(|ip| ip.trim().parse::<std::net::IpAddr>().is_ok());
    if let Some(ip) = dst {
        s.push_str("\"dst_endpoint\":");
        push_endpoint(
            s,
            ip,
            first(d, &["DestinationPort", "DestPort", "dst_port"]),
        );
        s.push(',');
    }
}

/// A process id, decimal or `0x` hexadecimal as Security events write it.
fn pid(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}
