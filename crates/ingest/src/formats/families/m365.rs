//! Microsoft 365 unified audit log: Office 365 Management Activity API records
//! (`CreationTime`, `Operation`, `Workload`, `RecordType`), as the API, `Search-UnifiedAuditLog`
//! (its `AuditData` column) and Purview exports give them. Shape from the Management Activity
//! API schema. The stream is the `Workload` (`Exchange`, `AzureActiveDirectory`,
//! `SecurityComplianceCenter`...).

use super::super::family::{JsonFamily, embedded};
use crate::json::{Naming, Scratch};
use dwell_core::{Event, Role, RoleNames};

fn finish(ev: &mut Event, sc: &mut Scratch) {
    // `Search-UnifiedAuditLog` exports carry the record as JSON text in `AuditData`.
    embedded(ev, sc, "AuditData");
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
