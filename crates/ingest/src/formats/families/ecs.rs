//! Elastic Common Schema documents from Elastic Agent / Elastic Defend, Auditbeat and other
//! ECS producers (`@timestamp`, `event.category`, `process.*`, `user.*`, `host.*`), mapped
//! onto the fields Sigma's Windows and Linux rules use, as EVTX events are (process creation,
//! network connections, file, registry, DNS and library events). Documents that carry
//! `winlog` are Winlogbeat's and read as Windows events instead (`evtx-json`). Shapes from
//! the ECS field reference (8.x).

use super::super::family::JsonFamily;
use crate::json::Naming;
use dwell_core::{Role, RoleNames};

/// ECS documents.
pub(crate) const ECS: JsonFamily = JsonFamily {
    name: "ecs",
    describe: "Elastic Common Schema documents (Elastic Agent, Auditbeat)",
    shapes: &[
        &["@timestamp", "ecs.version", "event.category"],
        &["@timestamp", "event.category", "host.name"],
    ],
    unwrap: &[],
    naming: Naming::Dotted,
    roles: RoleNames::new(&[
        ("host.name", Role::Host),
        ("@timestamp", Role::Time),
        ("event.id", Role::RecordId),
        ("event.provider", Role::Provider),
    ]),
    time: &["@timestamp", "event.created"],
    mapping: include_str!("../../../data/ecs.yml"),
    accounts: &["user.name", "user.target.name"],
    ips: &["source.ip", "destination.ip", "client.ip"],
    hosts: &["destination.domain"],
    finish: None,
};
