//! What the campaign model reads from events besides lateral movement, whether or not a rule
//! fired on them: which domain SID a domain name stands for, which host held an address,
//! when a compromised account was remediated, and which changes were approved.

use crate::identity::{DomainSid, domain_of};
use dwell_core::entity::{account, host, ip};
use serde::Serialize;

const SECURITY: &str = "Security";
const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";

/// A host holding an address at a time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Address {
    /// When it was seen.
    pub time: i64,
    /// The address.
    pub ip: String,
    /// The host.
    pub host: String,
    /// What showed it (`4624 workstation`, `sysmon 3 source`...).
    pub how: &'static str,
}

/// Evidence that an account is back in its owner's hands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Remediation {
    /// When.
    pub time: i64,
    /// The account (normalised).
    pub account: String,
    /// What happened, in words.
    pub how: &'static str,
    /// Where the record is: input index...
    pub input: u32,
    /// ...and record number.
    pub record: u64,
}

/// An approved change: work planned on a host, by whom, in a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The ticket (`CHG0012001`).
    pub ticket: String,
    /// Planned start.
    pub start: i64,
    /// Planned end.
    pub end: i64,
    /// The host it is for (`cmdb_ci`), normalised.
    pub host: Option<String>,
    /// Who carries it out (`assigned_to`), normalised.
    pub account: Option<String>,
    /// Its short description.
    pub summary: String,
    /// Where the record is: input index...
    pub input: u32,
    /// ...and record number.
    pub record: u64,
}

/// One thing read.
#[derive(Debug, Clone, PartialEq)]
pub enum Trace {
    /// A domain name with its SID.
    Domain(DomainSid),
    /// An address and its host.
    Address(Address),
    /// An account remediated.
    Remediation(Remediation),
    /// An approved change.
    Change(Change),
}

/// Whether events of this stream and code may carry a trace, so the reader keeps all their
/// fields. `code` is the event's code as written (an EventID, an Okta `eventType`).
pub fn wants(stream: &str, code: &str) -> bool {
    match stream {
        SECURITY => matches!(code, "4624" | "4768" | "4723" | "4725" | "4726"),
        SYSMON => code == "3",
        "change_request" => true,
        "" => matches!(
            code,
            "user.account.update_password"
                | "user.session.clear"
                | "user.lifecycle.suspend"
                | "user.lifecycle.deactivate"
        ),
        _ => false,
    }
}

/// Reads the traces of one event into `out`.
pub fn extract<'a>(
    stream: &str,
    code: &str,
    computer: &str,
    time: i64,
    (input, record): (u32, u64),
    get: &dyn Fn(&str) -> Option<&'a str>,
    out: &mut Vec<Trace>,
) {
    let acct = |u: &str, d: &str| get(u).and_then(|u| account(u, get(d)));
    let fix = |how: &'static str, a: Option<String>, out: &mut Vec<Trace>| {
        if let Some(account) = a {
            out.push(Trace::Remediation(Remediation {
                time,
                account,
                how,
                input,
                record,
            }));
        }
    };
    match (stream, code) {
        (SECURITY, "4624") => {
            out.extend(domain_of(get("TargetDomainName"), get("TargetUserSid")).map(Trace::Domain))
        }
        (SECURITY, "4768") => {
            out.extend(domain_of(get("TargetDomainName"), get("TargetSid")).map(Trace::Domain))
        }
        (SECURITY, "4723") => {
            // The owner changing their own password; a reset by someone else (4724) is how
            // help-desk takeovers begin, so it proves nothing.
            let target = acct("TargetUserName", "TargetDomainName");
            if target.is_some() && target == acct("SubjectUserName", "SubjectDomainName") {
                fix("password changed by its owner (4723)", target, out);
            }
        }
        (SECURITY, "4725") => fix(
            "account disabled (4725)",
            acct("TargetUserName", "TargetDomainName"),
            out,
        ),
        (SECURITY, "4726") => fix(
            "account deleted (4726)",
            acct("TargetUserName", "TargetDomainName"),
            out,
        ),
        (SYSMON, "3") => {
            // The logging host's own end of the connection is its address.
            let Some(here) = host(computer) else { return };
            let initiated = get("Initiated").is_some_and(|v| v.eq_ignore_ascii_case("true"));
            let (field, how) = if initiated {
                ("SourceIp", "sysmon 3 source")
            } else {
                ("DestinationIp", "sysmon 3 destination")
            };
            if let Some(ip) = get(field).and_then(ip) {
                out.push(Trace::Address(Address {
                    time,
                    ip,
                    host: here,
                    how,
                }));
            }
        }
        ("change_request", _) => {
            if let Some(c) = change(get, input, record) {
                out.push(Trace::Change(c));
            }
        }
        ("", "user.account.update_password") => {
            let actor = get("actor.alternateId").and_then(|u| account(u, None));
            let target = get("target.alternateId").and_then(|u| account(u, None));
            if target.is_none() || target == actor {
                fix("password changed by its owner (Okta)", actor, out);
            }
        }
        ("", "user.session.clear") => fix(
            "sessions revoked (Okta)",
            get("target.alternateId").and_then(|u| account(u, None)),
            out,
        ),
        ("", "user.lifecycle.suspend" | "user.lifecycle.deactivate") => fix(
            "account suspended (Okta)",
            get("target.alternateId").and_then(|u| account(u, None)),
            out,
        ),
        _ => {}
    }
}

/// A ServiceNow change request, when approved and planned.
fn change<'a>(get: &dyn Fn(&str) -> Option<&'a str>, input: u32, record: u64) -> Option<Change> {
    let ticket = get("number")?.trim().to_string();
    let approved = get("approval").is_some_and(|a| a.eq_ignore_ascii_case("approved"));
    let planned = get("state").is_some_and(|s| {
        ["scheduled", "implement", "review", "closed"]
            .iter()
            .any(|x| s.trim().eq_ignore_ascii_case(x))
    });
    if !approved && !planned {
        return None;
    }
    let start = get("start_date").and_then(dwell_core::time::parse)?;
    let end = get("end_date").and_then(dwell_core::time::parse)?;
    (end >= start).then(|| Change {
        ticket,
        start,
        end,
        host: get("cmdb_ci").and_then(host),
        account: get("assigned_to").and_then(|u| account(u, None)),
        summary: get("short_description").unwrap_or("").to_string(),
        input,
        record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(stream: &str, code: &str, fields: &[(&'static str, &'static str)]) -> Vec<Trace> {
        let m: HashMap<&str, &str> = fields.iter().copied().collect();
        let mut out = Vec::new();
        assert!(wants(stream, code));
        extract(
            stream,
            code,
            "WS01.corp.example",
            7,
            (0, 1),
            &|k| m.get(k).copied(),
            &mut out,
        );
        out
    }

    #[test]
    fn only_the_owner_changing_a_password_remediates() {
        let own = read(
            SECURITY,
            "4723",
            &[
                ("TargetUserName", "j.doe"),
                ("TargetDomainName", "CORP"),
                ("SubjectUserName", "j.doe"),
                ("SubjectDomainName", "CORP"),
            ],
        );
        assert!(matches!(&own[..], [Trace::Remediation(r)] if r.account == "CORP\\j.doe"));
        let other = read(
            SECURITY,
            "4723",
            &[
                ("TargetUserName", "j.doe"),
                ("TargetDomainName", "CORP"),
                ("SubjectUserName", "h.desk1"),
                ("SubjectDomainName", "CORP"),
            ],
        );
        assert!(other.is_empty());
        let okta = read(
            "",
            "user.account.update_password",
            &[("actor.alternateId", "j.doe@corp.example")],
        );
        assert_eq!(okta.len(), 1);
    }

    #[test]
    fn a_sysmon_connection_names_the_logging_hosts_own_address() {
        let t = read(
            SYSMON,
            "3",
            &[
                ("Initiated", "true"),
                ("SourceIp", "10.10.30.23"),
                ("DestinationIp", "10.10.10.5"),
            ],
        );
        assert!(matches!(&t[..], [Trace::Address(a)] if a.ip == "10.10.30.23" && a.host == "WS01"));
    }

    #[test]
    fn changes_are_read_when_approved_and_planned() {
        let f = [
            ("number", "CHG0012001"),
            ("approval", "approved"),
            ("start_date", "2025-03-10 07:00:00"),
            ("end_date", "2025-03-10 09:00:00"),
            ("cmdb_ci", "DC01"),
            ("assigned_to", "admin.k.wu"),
        ];
        let t = read("change_request", "", &f);
        let Some(Trace::Change(c)) = t.first() else {
            panic!("{t:?}")
        };
        assert_eq!(
            (c.ticket.as_str(), c.host.as_deref()),
            ("CHG0012001", Some("DC01"))
        );
        assert_eq!(c.end - c.start, 7200 * 1_000_000_000);
        let mut draft = f;
        draft[1] = ("approval", "requested");
        assert!(read("change_request", "", &draft).is_empty());
    }
}
