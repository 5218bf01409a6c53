//! Microsoft 365 unified audit log: Office 365 Management Activity API records
//! (`CreationTime`, `Operation`, `Workload`, `RecordType`), as the API, `Search-UnifiedAuditLog`
//! (its `AuditData` column) and Purview exports give them. Shape from the Management Activity
//! API schema. The stream is the `Workload` (`Exchange`, `AzureActiveDirectory`,
//! `SecurityComplianceCenter`...).

use super::super::family::{JsonFamily, embedded};
use crate::json::{Naming, Scratch};
use dwell_core::{Event, Kind, Role, RoleNames, Section};

fn finish(ev: &mut Event, sc: &mut Scratch) {
    // `Search-UnifiedAuditLog` exports carry the record as JSON text in `AuditData`.
    embedded(ev, sc, "AuditData");
    // The names SigmaHQ's M365 rules use (a SIEM's): `eventSource` is the workload,
    // `eventName` the alert's name for Security & Compliance alerts and the operation
    // otherwise, `status` `success` for an operation that succeeded and for every alert
    // raised (the event the rule asks about is that the alert fired).
    let workload = ev.get("Workload").map(str::to_string);
    let alert = workload.as_deref() == Some("SecurityComplianceCenter")
        && ev.get("Operation") == Some("AlertTriggered");
    let name = if alert {
        ev.get("Name")
    } else {
        ev.get("Operation")
    }
    .map(str::to_string);
    let ok = alert
        || ev.get("ResultStatus").is_some_and(|r| {
            ["true", "succeeded", "success", "partiallysucceeded"]
                .contains(&r.to_ascii_lowercase().as_str())
        });
    for (k, v) in [
        ("eventSource", workload),
        ("eventName", name),
        ("status", ok.then(|| "success".to_string())),
    ] {
        if let Some(v) = v {
            ev.push(k, k, &v, Kind::Str, Section::Other);
        }
    }
}

/// Microsoft 365 unified audit log.
pub(crate) const M365: JsonFamily = JsonFamily {
    name: "m365",
    describe: "Microsoft 365 unified audit log (Management Activity API)",
    shapes: &[
        &["CreationTime", "Operation", "Workload", "RecordType"],
        &["CreationDate", "Operations", "AuditData"],
    ],
    unwrap: &[],
    naming: Naming::Dotted,
    roles: RoleNames::new(&[
        ("Workload", Role::Stream),
        ("Id", Role::RecordId),
        ("CreationTime", Role::Time),
    ]),
    time: &["CreationTime", "CreationDate"],
    mapping: include_str!("../../../data/m365.yml"),
    accounts: &["UserId", "UserIds"],
    ips: &["ClientIP", "ClientIPAddress", "ActorIpAddress"],
    hosts: &[],
    finish: Some(finish),
};
